"""How the report writes dates, percentages, labels and the administrative header's names.

Shared by every format, so a figure reads the same in the DOCX, the spreadsheet and the page.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from service.clock import local_date, to_local
from service.i18n import t
from service.models import TaskRole, TaskState
from service.reports.schemas import AgencyReport, ConsolidatedReport, Submission
from service.tasks.timeliness import Timeliness

# "Ủy ban nhân dân huyện Thanh Liêm": the level word before the place's name.
_LEVELS = (
    "thành phố",
    "thị trấn",
    "thị xã",
    "đặc khu",
    "phường",
    "huyện",
    "tỉnh",
    "quận",
    "xã",
)
_COMMITTEE = re.compile(r"^\s*(?:ủy|uỷ)\s+ban\s+nhân\s+dân\b", re.IGNORECASE)
_UNIT_WORDS = ("phòng", "sở")
_SKIPPED_WORDS = {"và", "-", "–", "&"}


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def local_day(value: datetime | None) -> date | None:
    """The calendar day in Vietnam of an aware timestamp."""
    return local_date(value) if value else None


def moment(value: datetime | None) -> str:
    """An aware timestamp as Vietnam's wall clock: "20/06/2021 09:30"."""
    return to_local(value).strftime("%d/%m/%Y %H:%M") if value else ""


def number(value: float, digits: int = 1) -> str:
    """Vietnamese decimal comma, no trailing ",0": 66,7 / 100."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def percent(value: float | None) -> str:
    return t("consolidated_doc.percent", value=number(value)) if value is not None else "—"


def state_label(state: TaskState) -> str:
    return t(f"task_state.{state.value}")


def timeliness_label(timeliness: Timeliness) -> str:
    return t(f"timeliness.{timeliness.value}")


def submission_label(submission: Submission) -> str:
    return t(f"consolidated_submission.{submission.value}")


def role_label(role: TaskRole) -> str:
    return t(f"consolidated_role.{role.value}")


def place(issuer: str | None) -> str | None:
    """The place of "Ủy ban nhân dân huyện Thanh Liêm": "Thanh Liêm"."""
    if not issuer:
        return None
    lower = issuer.lower()
    matches = [m for level in _LEVELS if (m := re.search(rf"\b{level}\s+", lower))]
    if not matches:
        return None
    # The first level word; at the same place the longer one ("thị xã" before "xã").
    first = min(matches, key=lambda m: (m.start(), -len(m.group())))
    return issuer[first.end() :].strip() or None


def parent_line(issuer: str | None) -> str:
    """The first header line (the body above the issuing office), in capitals; Decree 30 lets
    "Ủy ban nhân dân" be written "UBND" there."""
    if not issuer:
        return ""
    return _COMMITTEE.sub("UBND", issuer.strip()).upper()


def number_suffix(name: str | None, short_name: str | None) -> str:
    """The office's letters after "/BC-": its short name, or the initials of a Phòng's or Sở's
    name ("Phòng Lao động - Thương binh và Xã hội" -> "LĐTBXH"); blank when unsure."""
    if short_name and short_name.strip():
        return short_name.strip()
    if not name:
        return ""
    words = name.split()
    if len(words) < 2 or words[0].lower() not in _UNIT_WORDS:
        return ""
    letters = [
        word[0].upper()
        for word in words[1:]
        if word.lower() not in _SKIPPED_WORDS and word[0].isalpha()
    ]
    return unicodedata.normalize("NFC", "".join(letters))


def subject(report: ConsolidatedReport) -> str:
    """ "Kết quả thực hiện Kế hoạch số 45/KH-UBND ngày 15/03/2021 của Ủy ban nhân dân huyện
    Thanh Liêm về triển khai ..." with whatever of that the plan has."""
    plan = report.plan
    text = (
        t("consolidated_doc.subject_number", number=plan.number)
        if plan.number
        else t("consolidated_doc.subject_no_number")
    )
    if plan.issued_on:
        text = t("consolidated_doc.subject_dated", subject=text, issued_on=day(plan.issued_on))
    if plan.issuer:
        text = t("consolidated_doc.subject_issuer", subject=text, issuer=plan.issuer)
    if plan.title:
        text = t("consolidated_doc.subject_about", subject=text, title=_lower_first(plan.title))
    return text


def title_lines(report: ConsolidatedReport) -> list[str]:
    """ "BÁO CÁO", the subject, "(6 tháng đầu năm 2021)": the title as Decree 30 sets it."""
    return [
        t("consolidated_doc.doc_kind"),
        subject(report),
        t("consolidated_doc.title_period", period=report.period),
    ]


def _lower_first(title: str) -> str:
    """ "Triển khai ..." -> "triển khai ..."; an acronym ("UBND ...") stays as it is."""
    title = title.strip()
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


# --- Sentences and header lines shared by the DOCX and the HTML page -----------------------------


def header_values(report: ConsolidatedReport) -> dict[str, str]:
    """The DOCX template's placeholders: issuer lines, số ký hiệu, place and date, title."""
    plan = report.plan
    issuer_org = plan.lead_agency or plan.issuer or ""
    today = report.today
    return {
        "parent_org": parent_line(plan.issuer) if plan.lead_agency else "",
        "issuer_org": issuer_org.upper(),
        "national_name": t("consolidated_doc.national_name"),
        "motto": t("consolidated_doc.motto"),
        "number": t("consolidated_doc.number", suffix=report_suffix(report)),
        "place_date": t(
            "consolidated_doc.place_date",
            place=place(plan.issuer) or t("consolidated_doc.unknown_place"),
            # Decree 30: days below 10 and months below 3 take a leading zero.
            day=f"{today.day:02d}" if today.day < 10 else str(today.day),
            month=f"{today.month:02d}" if today.month < 3 else str(today.month),
            year=today.year,
        ),
        "doc_kind": t("consolidated_doc.doc_kind"),
        "subject": subject(report),
        "period": t("consolidated_doc.title_period", period=report.period),
        "recipients_title": t("consolidated_doc.recipients"),
        "signer_title": signer_title(plan.lead_agency),
        "plan_number": plan.number or "",
        "plan_title": plan.title or "",
        "date": day(today),
    }


def report_suffix(report: ConsolidatedReport) -> str:
    """The letters after "/BC-" in the report's number."""
    return number_suffix(report.plan.lead_agency, report.plan.lead_agency_short)


def signer_title(lead: str | None) -> str:
    """The signer's title by the kind of office: a Phòng's head, a Sở's director, or generic."""
    first = (lead or "").split(" ", 1)[0].lower()
    key = {"phòng": "signer_department", "sở": "signer_province_department"}.get(
        first, "signer_other"
    )
    return t(f"consolidated_doc.{key}")


def reporting_figures(report: ConsolidatedReport) -> str:
    """The sentence counting the agencies' reports for the deadline."""
    summary = report.summary
    counts = summary.by_submission
    return t(
        "consolidated_doc.reporting_figures",
        owed=summary.reports_owed,
        on_time=counts[Submission.ON_TIME],
        late=counts[Submission.LATE],
        returned=counts[Submission.RETURNED],
        missing=counts[Submission.MISSING],
        not_due=counts[Submission.NOT_DUE],
        rate=percent(summary.on_time_rate),
    )


def tasks_figures(report: ConsolidatedReport) -> str:
    """The sentence counting the tasks by timeliness."""
    summary = report.summary
    timeliness = summary.by_timeliness
    return t(
        "consolidated_doc.tasks_figures",
        total=summary.tasks_total,
        agencies=summary.agencies,
        done=summary.tasks_done,
        completion=percent(summary.completion_pct),
        done_on_time=timeliness[Timeliness.HOAN_THANH_DUNG_HAN],
        done_late=timeliness[Timeliness.HOAN_THANH_QUA_HAN],
        in_time=timeliness[Timeliness.TRONG_HAN],
        due_soon=timeliness[Timeliness.SAP_DEN_HAN],
        overdue=timeliness[Timeliness.QUA_HAN],
        no_due=timeliness[Timeliness.CHUA_CO_HAN],
        progress=percent(summary.average_progress),
    )


def agency_line(agency: AgencyReport) -> str:
    """ "Báo cáo kỳ này: Đúng hạn, gửi ngày 08/06/2021. Tỷ lệ ... 100% (2/2 kỳ)." """
    sent = agency.submitted_at is not None
    rate = (
        t(
            "consolidated_doc.appendix_rate",
            rate=percent(agency.on_time_rate),
            on_time=agency.reports_on_time,
            due=agency.reports_due,
        )
        if agency.reports_due
        else t("consolidated_doc.appendix_no_rate")
    )
    return t(
        "consolidated_doc.appendix_agency_report",
        submission=submission_label(agency.submission),
        submitted=(
            t("consolidated_doc.appendix_submitted_on", date=day(local_day(agency.submitted_at)))
            if sent
            else ""
        ),
        rate=rate,
    )
