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
from service.reports.schemas import ConsolidatedReport, Submission
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
