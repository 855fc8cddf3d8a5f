"""The consolidated report: who may ask for it, which deadline it covers, and every figure in it.

Rules:
- Who: the plan's lead office, administrators and leadership (read-only anyway). A focal point,
  or another office's lead, gets 403 on a plan it can see and 404 on one it cannot.
- Which deadline: the one asked for (it must belong to the plan); "as of today" (no deadline
  asked) takes the latest deadline already due, since that is the latest round whose outcome
  is known, or none when no deadline has come yet.
- Task figures are the tasks as they stand now, with timeliness derived as the task list
  derives it (`service.tasks.timeliness`). The report does not replay history.
- A report counts as sent when submitted or accepted, on time when sent on or before its due
  day (Vietnam's calendar day); a returned report counts as not sent.
- An agency's on-time rate runs over every deadline of the plan "so far": deadlines already past,
  plus reports already sent for later ones (their outcome is known). Waived reports are left out.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from service.auth.scope import leads_plan, plan_scope, sees_everything
from service.clock import Clock, local_date, to_local
from service.config import Settings
from service.errors import AppError
from service.i18n import t
from service.models import ObligationStatus, Plan, PlanStatus, ReportDeadline, TaskState, User
from service.reports import repository
from service.reports.schemas import (
    OWED,
    AgencyReport,
    ConsolidatedReport,
    ReportDeadlineInfo,
    ReportFormat,
    ReportPlan,
    ReportSummary,
    ReportTask,
    Submission,
)
from service.tasks.timeliness import Timeliness

_SENT = (ObligationStatus.SUBMITTED, ObligationStatus.ACCEPTED)
_COUNTED = (Submission.ON_TIME, Submission.LATE)
_LABEL_PREFIX = re.compile(r"^\s*báo\s+cáo\s+", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedReport:
    content: bytes
    media_type: str
    filename: str


def export(
    session: Session,
    *,
    user: User | None,
    plan_id: int,
    deadline_id: int | None,
    report_format: ReportFormat,
    clock: Clock,
    settings: Settings,
    links: bool = False,
) -> RenderedReport:
    """The report as a file. `user` None is the operator at the server (the CLI): no scope."""
    report = build_report(
        session,
        user=user,
        plan_id=plan_id,
        deadline_id=deadline_id,
        clock=clock,
        settings=settings,
    )
    return render(report, report_format, data_dir=settings.data_dir, links=links)


def render(
    report: ConsolidatedReport,
    report_format: ReportFormat,
    *,
    data_dir: Path | None = None,
    links: bool = False,
) -> RenderedReport:
    """The report as a file. A DOCX uses `<data_dir>/templates/report.docx` when a deployment
    has put its own template there, else the bundled one; an HTML page served by the API gets
    `links` to the other formats."""
    # Each renderer is imported when first used: it pulls in its own library (python-docx,
    # openpyxl, Jinja2), which a CSV download should not pay for.
    renderer = importlib.import_module(f"service.reports.{report_format.value}")
    options: dict[str, Any] = {}
    if report_format == ReportFormat.DOCX and data_dir is not None:
        template = data_dir / "templates" / "report.docx"
        if template.is_file():
            options["template"] = template
    if report_format == ReportFormat.HTML:
        options["links"] = links
    content: bytes = renderer.render(report, **options)
    media_type: str = renderer.MEDIA_TYPE
    return RenderedReport(
        content=content, media_type=media_type, filename=filename(report, report_format)
    )


def filename(report: ConsolidatedReport, report_format: ReportFormat) -> str:
    """An ASCII file name: plan id and the deadline's (or today's) date."""
    day = report.deadline.due_on if report.deadline and not report.as_of_today else report.today
    return f"bao-cao-ke-hoach-{report.plan.id}-{day.isoformat()}.{report_format.value}"


def build_report(
    session: Session,
    *,
    user: User | None,
    plan_id: int,
    deadline_id: int | None,
    clock: Clock,
    settings: Settings,
) -> ConsolidatedReport:
    now = clock()
    today = local_date(now)
    row = repository.plan(
        session, plan_id=plan_id, scope=true() if user is None else plan_scope(user)
    )
    if row is None:
        raise AppError("consolidated.plan_not_found", status=404)
    plan: Plan = row.Plan
    if user is not None and not (sees_everything(user) or leads_plan(user, plan)):
        raise AppError("consolidated.forbidden", status=403)
    if plan.status == PlanStatus.DRAFT:
        raise AppError("consolidated.plan_draft", status=409)

    deadlines = repository.deadlines(session, plan_id=plan.id)
    deadline = _chosen_deadline(deadlines, deadline_id=deadline_id, today=today)
    task_rows = repository.tasks(
        session, plan_id=plan.id, today=today, due_soon_days=settings.due_soon_days
    )
    obligation_rows = repository.obligations(session, plan_id=plan.id)

    agencies = _agencies(task_rows, obligation_rows, deadline=deadline, today=today)
    return ConsolidatedReport(
        plan=ReportPlan(
            id=plan.id,
            number=plan.number,
            title=plan.title,
            issuer=plan.issuer,
            issued_on=plan.issued_on,
            start_year=plan.start_year,
            end_year=plan.end_year,
            lead_agency=row.lead_name,
            lead_agency_short=row.lead_short_name,
            report_to=row.report_to_name,
        ),
        deadline=(
            ReportDeadlineInfo(
                id=deadline.id, kind=deadline.kind, label=deadline.label, due_on=deadline.due_on
            )
            if deadline
            else None
        ),
        as_of_today=deadline_id is None,
        period=_period(deadline if deadline_id is not None else None, today=today),
        today=today,
        generated_at=now,
        agencies=agencies,
        summary=_summary(agencies),
    )


def _chosen_deadline(
    deadlines: Sequence[ReportDeadline], *, deadline_id: int | None, today: date
) -> ReportDeadline | None:
    if deadline_id is not None:
        for deadline in deadlines:
            if deadline.id == deadline_id:
                return deadline
        raise AppError("consolidated.deadline_not_found", status=404)
    due = [deadline for deadline in deadlines if deadline.due_on <= today]
    return due[-1] if due else None


def _period(deadline: ReportDeadline | None, *, today: date) -> str:
    """The period in the title: the deadline's label without "Báo cáo", or "as of today"."""
    if deadline is None:
        return t("consolidated.period_today", date=today.strftime("%d/%m/%Y"))
    return _LABEL_PREFIX.sub("", deadline.label).strip() or deadline.label


def _agencies(
    task_rows: Sequence[repository.AnyRow],
    obligation_rows: Sequence[repository.AnyRow],
    *,
    deadline: ReportDeadline | None,
    today: date,
) -> list[AgencyReport]:
    """Every agency with a task in the plan or a report owed for the deadline, in the plan's
    order (first assignment naming it), then those with only a report, by name."""
    names: dict[int, str] = {}
    tasks: dict[int, list[ReportTask]] = {}
    for row in task_rows:
        names.setdefault(row.agency_id, row.agency_name)
        tasks.setdefault(row.agency_id, []).append(_task(row))

    chosen: dict[int, Any] = {}
    history: dict[int, list[Any]] = {}
    for row in obligation_rows:
        history.setdefault(row.agency_id, []).append(row)
        if deadline is not None and row.deadline_id == deadline.id:
            chosen[row.agency_id] = row
    report_only = sorted(
        (agency_id for agency_id in chosen if agency_id not in names),
        key=lambda agency_id: chosen[agency_id].agency_name,
    )
    for agency_id in report_only:
        names[agency_id] = chosen[agency_id].agency_name

    return [
        _agency(
            agency_id,
            name,
            tasks.get(agency_id, []),
            chosen.get(agency_id),
            history.get(agency_id, []),
            today=today,
        )
        for agency_id, name in names.items()
    ]


def _task(row: repository.AnyRow) -> ReportTask:
    return ReportTask(
        id=row.id,
        agency_id=row.agency_id,
        agency_name=row.agency_name,
        ordinal=row.ordinal,
        assignment=row.heading,
        text=row.text,
        role=row.role,
        due_on=row.due_on,
        state=row.state,
        timeliness=Timeliness(row.timeliness),
        progress=row.progress,
        completed_on=row.completed_on,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        narrative=row.narrative,
        blocked_reason=row.blocked_reason,
    )


def _agency(
    agency_id: int,
    name: str,
    tasks: list[ReportTask],
    obligation: Any,
    history: list[Any],
    *,
    today: date,
) -> AgencyReport:
    by_timeliness = dict.fromkeys(Timeliness, 0)
    for task in tasks:
        by_timeliness[task.timeliness] += 1
    done = sum(1 for task in tasks if task.state == TaskState.HOAN_THANH)
    final = [row for row in history if _is_final(row, today=today)]
    on_time = sum(1 for row in final if _submission(row, today=today) == Submission.ON_TIME)
    submission = (
        _submission(obligation, today=today) if obligation is not None else Submission.NOT_REQUIRED
    )
    return AgencyReport(
        id=agency_id,
        name=name,
        submission=submission,
        obligation_status=obligation.status if obligation is not None else None,
        # A returned report's first sending does not count: no date.
        submitted_at=obligation.submitted_at if submission in _COUNTED else None,
        narrative=obligation.narrative if obligation is not None else None,
        review_comment=obligation.review_comment if obligation is not None else None,
        tasks=tasks,
        by_timeliness=by_timeliness,
        tasks_done=done,
        completion_pct=_pct(done, len(tasks)),
        reports_due=len(final),
        reports_on_time=on_time,
        on_time_rate=_pct(on_time, len(final)),
    )


def _submission(obligation: Any, *, today: date) -> Submission:
    status = obligation.status
    if status in _SENT and obligation.submitted_at is not None:
        on_time = local_date(obligation.submitted_at) <= obligation.due_on
        return Submission.ON_TIME if on_time else Submission.LATE
    if status == ObligationStatus.WAIVED:
        return Submission.WAIVED
    if status == ObligationStatus.RETURNED:
        return Submission.RETURNED
    return Submission.MISSING if today > obligation.due_on else Submission.NOT_DUE


def _is_final(obligation: Any, *, today: date) -> bool:
    """Does this report's outcome count in the on-time rate yet?"""
    if obligation.status == ObligationStatus.WAIVED:
        return False
    return obligation.due_on < today or obligation.status in _SENT


def _summary(agencies: list[AgencyReport]) -> ReportSummary:
    all_tasks = [task for agency in agencies for task in agency.tasks]
    by_timeliness = dict.fromkeys(Timeliness, 0)
    for agency in agencies:
        for timeliness, count in agency.by_timeliness.items():
            by_timeliness[timeliness] += count
    by_submission = dict.fromkeys(Submission, 0)
    for agency in agencies:
        by_submission[agency.submission] += 1
    owed = sum(count for submission, count in by_submission.items() if submission in OWED)
    done = sum(agency.tasks_done for agency in agencies)
    return ReportSummary(
        agencies=len(agencies),
        tasks_total=len(all_tasks),
        tasks_done=done,
        completion_pct=_pct(done, len(all_tasks)),
        average_progress=(
            sum(task.progress for task in all_tasks) / len(all_tasks) if all_tasks else None
        ),
        by_timeliness=by_timeliness,
        by_submission=by_submission,
        reports_owed=owed,
        reports_on_time=by_submission[Submission.ON_TIME],
        on_time_rate=_pct(by_submission[Submission.ON_TIME], owed),
        overdue=[task for task in all_tasks if task.timeliness == Timeliness.QUA_HAN],
        problems=[task for task in all_tasks if task.state == TaskState.GAP_VUONG_MAC],
    )


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def generated_local(report: ConsolidatedReport) -> datetime:
    """When the report was made, in Vietnam's time, for display."""
    return to_local(report.generated_at)
