"""What the pages show, composed from the service functions the API calls.

Nothing here decides a business rule: tasks, timeliness, reports and their outcomes come from
`service.tasks`, `service.reports` and `notifications`; this module only groups them for a
page (tasks by plan, days left in working days, a matrix of reports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import Row
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


class Cell(NamedTuple):
    obligation_id: int
    submission: Submission
    tone: str


# Reports that count as "not sent" for following up: the agency needs a "đôn đốc".
LATE_REPORTS = frozenset({Submission.MISSING, Submission.RETURNED})
NO_CELLS: Mapping[int, Cell] = MappingProxyType({})


@dataclass(slots=True)
class AgencyRow:
    agency_id: int
    name: str
    total: int = 0
    done: int = 0
    overdue: int = 0
    progress_sum: int = 0
    # Reports missing or returned.
    late_reports: int = 0
    # Its report outcomes by deadline id, filled (`fill_cells`) for the rows a page shows.
    cells: Mapping[int, Cell] = field(default_factory=lambda: NO_CELLS)

    @property
    def average_progress(self) -> float | None:
        return self.progress_sum / self.total if self.total else None

    @property
    def problems(self) -> int:
        """Overdue tasks plus reports missing or returned: who needs a "đôn đốc"."""
        return self.overdue + self.late_reports


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
    # Every agency of the plan, by name.
    agencies: list[AgencyRow]
    bars: list[Bar]
    total_tasks: int
    done: int
    overdue: int
    average_progress: float | None
    waiting: list[WaitingReport]


def dashboard(session: Session, *, plan_id: int, today: date, due_soon_days: int) -> Dashboard:
    """Everything a plan's dashboard shows but the report cells of the rows on screen
    (`fill_cells`), in three statements whatever the plan's size: the deadlines, the tasks
    counted by agency (`web_repository.task_counts`), the obligations' outcomes
    (`web_repository.report_outcomes`).

    The caller has already checked that the user may see the whole plan (its lead office, an
    administrator, leadership): the same rule as the consolidated report's. At 500 agencies
    and 50,000 tasks most of the time is the count. What stays in memory is one small object
    per agency: every object held through a request is one the garbage collector promotes and
    later walks (a full collection of the app's objects costs about 0.1 s).
    """
    deadlines = list(report_repository.deadlines(session, plan_id=plan_id))
    labels = {deadline.id: deadline.label for deadline in deadlines}
    rows: dict[int, AgencyRow] = {}
    totals = dict.fromkeys(Timeliness, 0)
    total = progress = 0
    # Rows are read by position (`_columns`): a Row's attribute costs about 0.4 µs.
    counted = web_repository.task_counts(
        session, plan_id=plan_id, today=today, due_soon_days=due_soon_days
    )
    read = _columns(counted, "agency_id", "agency_name", "progress")
    numbers = _columns(counted, "tasks", "done", "done_late", "undated", "past_due", "due_by_soon")
    for count in counted:
        agency_id, name, agency_progress = read(count)
        tasks, done, done_late, undated, past_due, due_by_soon = numbers(count)
        counts = web_repository.by_timeliness(
            tasks=tasks,
            done=done,
            done_late=done_late,
            undated=undated,
            past_due=past_due,
            due_by_soon=due_by_soon,
        )
        for timeliness, number in counts.items():
            totals[timeliness] += number
        rows[agency_id] = AgencyRow(
            agency_id,
            name,
            total=tasks,
            done=counts[Timeliness.HOAN_THANH_DUNG_HAN] + counts[Timeliness.HOAN_THANH_QUA_HAN],
            overdue=counts[Timeliness.QUA_HAN],
            progress_sum=int(agency_progress),
        )
        total += tasks
        progress += int(agency_progress)

    waiting: list[WaitingReport] = []
    for obligation in web_repository.report_outcomes(session, plan_id=plan_id):
        obligation_id, deadline_id, agency_id, name, _due_on, status, submitted_at = obligation
        row = rows.get(agency_id)
        if row is None:
            row = rows[agency_id] = AgencyRow(agency_id, name)
        if submission_of(obligation, today=today) in LATE_REPORTS:
            row.late_reports += 1
        if status == ObligationStatus.SUBMITTED:
            waiting.append(
                WaitingReport(obligation_id, name, labels.get(deadline_id, ""), submitted_at)
            )

    bars = [
        Bar(
            timeliness,
            totals[timeliness],
            100.0 * totals[timeliness] / total if total else 0.0,
            TONES[timeliness],
        )
        for timeliness in TIMELINESS_ORDER
    ]
    return Dashboard(
        deadlines=deadlines,
        agencies=sorted(rows.values(), key=lambda row: fold_text(row.name)),
        bars=bars,
        total_tasks=total,
        done=totals[Timeliness.HOAN_THANH_DUNG_HAN] + totals[Timeliness.HOAN_THANH_QUA_HAN],
        overdue=totals[Timeliness.QUA_HAN],
        average_progress=progress / total if total else None,
        waiting=sorted(waiting, key=lambda item: (item.submitted_at is None, item.submitted_at)),
    )


def fill_cells(session: Session, *, plan_id: int, rows: Sequence[AgencyRow], today: date) -> None:
    """The report cells (outcome by deadline) of `rows`, the agencies a page shows: one
    statement for their obligations only."""
    by_agency = {row.agency_id: row for row in rows}
    cells: dict[int, dict[int, Cell]] = {agency_id: {} for agency_id in by_agency}
    outcomes = web_repository.report_outcomes(session, plan_id=plan_id, agency_ids=by_agency)
    for obligation in outcomes:
        obligation_id, deadline_id, agency_id, *_rest = obligation
        submission = submission_of(obligation, today=today)
        cells[agency_id][deadline_id] = Cell(
            obligation_id, submission, SUBMISSION_TONES[submission]
        )
    for agency_id, row in by_agency.items():
        row.cells = cells[agency_id]


def _columns(rows: Sequence[Row[Any]], *names: str) -> Callable[[Row[Any]], tuple[Any, ...]]:
    """A getter of two or more named columns of `rows`, by position."""
    if not rows:
        return lambda _row: ()
    fields = rows[0]._fields
    return itemgetter(*(fields.index(name) for name in names))
