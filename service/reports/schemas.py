"""The consolidated report as data: what every format (DOCX, XLSX, CSV, HTML) renders.

The service builds one `ConsolidatedReport` from the database; the renderers only lay it out, so
the four formats can never disagree on a figure.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from pydantic import BaseModel

from service.models import ObligationStatus, TaskRole, TaskState
from service.tasks.timeliness import Timeliness


class ReportFormat(enum.StrEnum):
    DOCX = "docx"
    XLSX = "xlsx"
    CSV = "csv"
    HTML = "html"


class Submission(enum.StrEnum):
    """An agency's periodic report for the chosen deadline, as the lead office reads it."""

    ON_TIME = "on_time"  # sent (submitted or accepted) on or before the due day
    LATE = "late"  # sent after the due day
    RETURNED = "returned"  # sent back by the lead office: counts as not sent
    MISSING = "missing"  # not sent, due day passed
    NOT_DUE = "not_due"  # not sent, due day not reached yet
    WAIVED = "waived"
    NOT_REQUIRED = "not_required"  # no obligation for this deadline (or no deadline at all)


# Submissions that count in the reporting rate's denominator (an agency that owed the report).
OWED = frozenset(
    {
        Submission.ON_TIME,
        Submission.LATE,
        Submission.RETURNED,
        Submission.MISSING,
        Submission.NOT_DUE,
    }
)


class ReportTask(BaseModel):
    id: int
    agency_id: int
    agency_name: str
    ordinal: str
    assignment: str
    text: str
    role: TaskRole
    due_on: date | None
    state: TaskState
    timeliness: Timeliness
    progress: int
    completed_on: date | None
    # The latest status update: when (aware UTC) and by whom.
    updated_at: datetime | None
    updated_by: str | None
    # The latest update that had a narrative (the last update may have had none).
    narrative: str | None
    blocked_reason: str | None


class AgencyReport(BaseModel):
    id: int
    name: str
    submission: Submission
    obligation_status: ObligationStatus | None
    submitted_at: datetime | None
    narrative: str | None
    review_comment: str | None
    tasks: list[ReportTask]
    by_timeliness: dict[Timeliness, int]
    tasks_done: int
    # Done tasks over all tasks, 0-100; None without tasks.
    completion_pct: float | None
    # Across every deadline of the plan so far (see `service.reports.service`).
    reports_due: int
    reports_on_time: int
    on_time_rate: float | None

    @property
    def tasks_total(self) -> int:
        return len(self.tasks)


class ReportSummary(BaseModel):
    agencies: int
    tasks_total: int
    tasks_done: int
    completion_pct: float | None
    average_progress: float | None
    by_timeliness: dict[Timeliness, int]
    by_submission: dict[Submission, int]
    # For the chosen deadline: reports owed, and of those sent on time.
    reports_owed: int
    reports_on_time: int
    on_time_rate: float | None
    overdue: list[ReportTask]
    problems: list[ReportTask]


class ReportPlan(BaseModel):
    id: int
    number: str | None
    title: str | None
    issuer: str | None
    issued_on: date | None
    start_year: int | None
    end_year: int | None
    lead_agency: str | None
    lead_agency_short: str | None
    report_to: str | None


class ReportDeadlineInfo(BaseModel):
    id: int
    kind: str
    label: str
    due_on: date


class ConsolidatedReport(BaseModel):
    plan: ReportPlan
    # The deadline the submission figures refer to; None when the plan has none (yet).
    deadline: ReportDeadlineInfo | None
    # True when asked "as of today" rather than for a chosen deadline.
    as_of_today: bool
    # The reporting period for the title: "6 tháng đầu năm 2024", "tính đến ngày 05/06/2024".
    period: str
    today: date
    generated_at: datetime
    agencies: list[AgencyReport]
    summary: ReportSummary
