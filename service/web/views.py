"""What the pages show, composed from the service functions the API calls.

Nothing here decides a business rule: tasks, timeliness, reports and their outcomes come from
`service.tasks`, `service.reports` and `notifications`; this module only groups them for a
page (tasks by plan, days left in working days, a matrix of reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from notifications.calendar import load_calendar
from service.models import ObligationStatus, ReportDeadline
from service.reports import repository as report_repository
from service.reports.schemas import Submission

# The consolidated report's own rule for a report's outcome (on time, late, returned, missing),
# so the dashboard and the report never disagree.
from service.reports.service import _submission as submission_of
from service.tasks.repository import fold_text
from service.tasks.schemas import TaskRead
from service.tasks.timeliness import Timeliness
from service.web import repository as web_repository

# Colour of each timeliness on a page (the label is always shown too: colour is never alone).
TONES = {
    Timeliness.QUA_HAN: "red",
    Timeliness.SAP_DEN_HAN: "amber",
    Timeliness.TRONG_HAN: "blue",
    Timeliness.HOAN_THANH_DUNG_HAN: "green",
    Timeliness.HOAN_THANH_QUA_HAN: "olive",
    Timeliness.CHUA_CO_HAN: "grey",
}

# The order of timeliness in charts: the worst first.
TIMELINESS_ORDER = [
    Timeliness.QUA_HAN,
    Timeliness.SAP_DEN_HAN,
    Timeliness.TRONG_HAN,
    Timeliness.CHUA_CO_HAN,
    Timeliness.HOAN_THANH_QUA_HAN,
    Timeliness.HOAN_THANH_DUNG_HAN,
]


def working_days_left(
    session: Session, *, today: date, days: Iterable[date | None]
) -> dict[date, int]:
    """Working days from today to each day (negative once passed), with the deployment's
    calendar (weekends, public holidays, extra days off).

    Counted in one walk over the sorted days, so a page of tasks due over several years costs
    one pass over that span, not one per task.
    """
    wanted = sorted({day for day in days if day is not None})
    if not wanted:
        return {}
    calendar = load_calendar(session)
    result: dict[date, int] = {}
    before = [day for day in wanted if day < today]
    after = [day for day in wanted if day >= today]
    running, previous = 0, today
    for day in after:
        running += calendar.working_days_between(previous, day)
        result[day] = running
        previous = day
    running, previous = 0, today
    for day in reversed(before):
        running += calendar.working_days_between(previous, day)
        result[day] = running
        previous = day
    return result


@dataclass
class TaskItem:
    task: TaskRead
    days_left: int | None
    tone: str


@dataclass
class PlanGroup:
    plan_id: int
    plan_title: str | None
    items: list[TaskItem] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.items if item.task.timeliness == Timeliness.QUA_HAN)


def task_item(task: TaskRead, days: dict[date, int]) -> TaskItem:
    return TaskItem(
        task=task,
        days_left=days.get(task.due_on) if task.due_on is not None else None,
        tone=TONES[task.timeliness],
    )


def group_by_plan(tasks: Sequence[TaskRead], days: dict[date, int]) -> list[PlanGroup]:
    """Tasks grouped by plan, plans in the order of their soonest task (the list's order)."""
    groups: dict[int, PlanGroup] = {}
    for task in tasks:
        group = groups.setdefault(task.plan_id, PlanGroup(task.plan_id, task.plan_title))
        group.items.append(task_item(task, days))
    return list(groups.values())


# --- The plan dashboard -------------------------------------------------------------------------

SUBMISSION_TONES = {
    Submission.ON_TIME: "green",
    Submission.LATE: "amber",
    Submission.RETURNED: "red",
    Submission.MISSING: "red",
    Submission.NOT_DUE: "grey",
    Submission.WAIVED: "grey",
    Submission.NOT_REQUIRED: "none",
}


@dataclass
class Cell:
    obligation_id: int
    submission: Submission
    tone: str
    review_comment: str | None


@dataclass
class AgencyRow:
    agency_id: int
    name: str
    counts: dict[Timeliness, int] = field(default_factory=lambda: dict.fromkeys(Timeliness, 0))
    total: int = 0
    progress_sum: int = 0
    cells: dict[int, Cell] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return (
            self.counts[Timeliness.HOAN_THANH_DUNG_HAN] + self.counts[Timeliness.HOAN_THANH_QUA_HAN]
        )

    @property
    def overdue(self) -> int:
        return self.counts[Timeliness.QUA_HAN]

    @property
    def average_progress(self) -> float | None:
        return self.progress_sum / self.total if self.total else None

    @property
    def problems(self) -> int:
        """Overdue tasks plus reports missing or returned: who needs a "đôn đốc"."""
        late = sum(
            1
            for cell in self.cells.values()
            if cell.submission in (Submission.MISSING, Submission.RETURNED)
        )
        return self.overdue + late


@dataclass
class Bar:
    timeliness: Timeliness
    count: int
    # Share of all tasks, 0-100, for the chart's bar length.
    share: float
    tone: str


@dataclass
class WaitingReport:
    obligation_id: int
    agency_name: str
    deadline_label: str
    submitted_at: datetime | None


@dataclass
class Dashboard:
    deadlines: list[ReportDeadline]
    agencies: list[AgencyRow]
    bars: list[Bar]
    total_tasks: int
    done: int
    average_progress: float | None
    waiting: list[WaitingReport]
    # Per deadline: how many reports of each outcome.
    outcomes: dict[int, dict[Submission, int]]

    @property
    def overdue(self) -> int:
        return sum(row.overdue for row in self.agencies)


def dashboard(session: Session, *, plan_id: int, today: date, due_soon_days: int) -> Dashboard:
    """Everything a plan's dashboard shows, in three statements whatever the plan's size.

    The caller has already checked that the user may see the whole plan (its lead office, an
    administrator, leadership): the same rule as the consolidated report's.
    """
    deadlines = list(report_repository.deadlines(session, plan_id=plan_id))
    labels = {deadline.id: deadline.label for deadline in deadlines}
    rows: dict[int, AgencyRow] = {}
    for count in web_repository.task_counts(
        session, plan_id=plan_id, today=today, due_soon_days=due_soon_days
    ):
        row = rows.get(count.agency_id)
        if row is None:
            row = rows[count.agency_id] = AgencyRow(count.agency_id, count.agency_name)
        row.counts[Timeliness(count.timeliness)] += count.tasks
        row.total += count.tasks
        row.progress_sum += int(count.progress or 0)

    outcomes: dict[int, dict[Submission, int]] = {
        deadline.id: dict.fromkeys(Submission, 0) for deadline in deadlines
    }
    waiting: list[WaitingReport] = []
    for obligation in report_repository.obligations(session, plan_id=plan_id):
        row = rows.get(obligation.agency_id)
        if row is None:
            row = rows[obligation.agency_id] = AgencyRow(
                obligation.agency_id, obligation.agency_name
            )
        submission = submission_of(obligation, today=today)
        row.cells[obligation.deadline_id] = Cell(
            obligation.id, submission, SUBMISSION_TONES[submission], obligation.review_comment
        )
        if obligation.deadline_id in outcomes:
            outcomes[obligation.deadline_id][submission] += 1
        if obligation.status == ObligationStatus.SUBMITTED:
            waiting.append(
                WaitingReport(
                    obligation.id,
                    obligation.agency_name,
                    labels.get(obligation.deadline_id, ""),
                    obligation.submitted_at,
                )
            )

    agencies = sorted(rows.values(), key=lambda row: fold_text(row.name))
    total = sum(row.total for row in agencies)
    totals = dict.fromkeys(Timeliness, 0)
    for row in agencies:
        for timeliness, tasks in row.counts.items():
            totals[timeliness] += tasks
    bars = [
        Bar(
            timeliness,
            totals[timeliness],
            100.0 * totals[timeliness] / total if total else 0.0,
            TONES[timeliness],
        )
        for timeliness in TIMELINESS_ORDER
    ]
    progress = sum(row.progress_sum for row in agencies)
    return Dashboard(
        deadlines=deadlines,
        agencies=agencies,
        bars=bars,
        total_tasks=total,
        done=sum(row.done for row in agencies),
        average_progress=progress / total if total else None,
        waiting=sorted(waiting, key=lambda item: (item.submitted_at is None, item.submitted_at)),
        outcomes=outcomes,
    )
