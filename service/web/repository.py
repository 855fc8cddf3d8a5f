"""The SQL of the web layer: aggregates the dashboards need that no domain has, and the short
lists behind a page's selects.

Why here: the consolidated report loads every task with its latest update (half a second for
2,000 tasks), and the tasks domain counts one agency at a time; a dashboard of 500 agencies and
50,000 tasks needs one grouped statement. Candidates to move to their domains.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row, false, func, select, true
from sqlalchemy.orm import Session

from service.models import (
    Agency,
    ObligationStatus,
    ReportDeadline,
    ReportObligation,
    Task,
    TaskState,
)
from service.tasks.timeliness import Timeliness


def task_counts(
    session: Session, *, plan_id: int, today: date, due_soon_days: int
) -> Sequence[Row[Any]]:
    """A plan's tasks counted by agency: (agency_id, agency_name, tasks, progress, done,
    done_late, undated, past_due, due_by_soon), the last three of the tasks not done;
    `by_timeliness` turns a row into counts by timeliness.

    One pass over `ix_tasks_plan_agency_state` (grouped on its leading columns, so neither
    database sorts, and no task row is read), counting with plain comparisons rather than the
    timeliness CASE. At 50,000 tasks the CASE as a grouping key cost 60-100 ms on SQLite.
    """
    done = Task.state == TaskState.HOAN_THANH
    open_ = Task.state != TaskState.HOAN_THANH
    counted = (
        select(
            Task.agency_id,
            func.count().label("tasks"),
            func.coalesce(func.sum(Task.progress), 0).label("progress"),
            func.count().filter(done).label("done"),
            func.count().filter(done, Task.completed_on > Task.due_on).label("done_late"),
            func.count().filter(open_, Task.due_on.is_(None)).label("undated"),
            func.count().filter(open_, Task.due_on < today).label("past_due"),
            func.count()
            .filter(open_, Task.due_on <= today + timedelta(days=due_soon_days))
            .label("due_by_soon"),
        )
        .where(Task.plan_id == plan_id)
        .group_by(Task.agency_id)
        .subquery()
    )
    statement = select(
        counted.c.agency_id,
        Agency.name.label("agency_name"),
        counted.c.tasks,
        counted.c.progress,
        counted.c.done,
        counted.c.done_late,
        counted.c.undated,
        counted.c.past_due,
        counted.c.due_by_soon,
    ).join(Agency, Agency.id == counted.c.agency_id)
    return session.execute(statement).all()


def by_timeliness(
    *, tasks: int, done: int, done_late: int, undated: int, past_due: int, due_by_soon: int
) -> dict[Timeliness, int]:
    """One `task_counts` row by timeliness: the rule of `service.tasks.timeliness.timeliness()`
    applied to counts (tests/web/test_dashboard_counts.py checks the two agree on every case).

    Done: late when completed after its due date (both known), else on time. Not done: no due
    date; due before today (overdue); due by today + due_soon_days (due soon); else in time.
    """
    return {
        Timeliness.HOAN_THANH_DUNG_HAN: done - done_late,
        Timeliness.HOAN_THANH_QUA_HAN: done_late,
        Timeliness.CHUA_CO_HAN: undated,
        Timeliness.QUA_HAN: past_due,
        Timeliness.SAP_DEN_HAN: due_by_soon - past_due,
        Timeliness.TRONG_HAN: tasks - done - undated - due_by_soon,
    }


def report_outcomes(
    session: Session, *, plan_id: int, agency_ids: Iterable[int] | None = None
) -> Iterator[Row[int, int, int, str, date, ObligationStatus, datetime | None]]:
    """A plan's report obligations with what the matrix needs to tell each one's outcome:
    (id, deadline_id, agency_id, agency_name, due_on, status, submitted_at), as the database
    returns them; only those of `agency_ids` when given.

    Not `service.reports.repository.obligations`: that returns every obligation at once with
    its narrative, and the dashboard reads one row per agency and deadline (2,000 for 500
    agencies) only to count and colour it. Read in batches, the rows are freed as they are read
    instead of all being held (and promoted by the garbage collector) for the whole request.
    """
    statement = (
        select(
            ReportObligation.id,
            ReportObligation.deadline_id,
            ReportObligation.agency_id,
            Agency.name.label("agency_name"),
            ReportObligation.due_on,
            ReportObligation.status,
            ReportObligation.submitted_at,
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Agency, Agency.id == ReportObligation.agency_id)
        .where(ReportDeadline.plan_id == plan_id)
    )
    if agency_ids is not None:
        statement = statement.where(ReportObligation.agency_id.in_(list(agency_ids)))
    # In batches: rows one at a time cost SQLAlchemy about 5 µs each, all at once hold them all.
    result = session.connection().execute(statement)
    return (row for batch in result.partitions(500) for row in batch)


class AgencyOption(NamedTuple):
    id: int
    name: str
    is_group: bool
    is_active: bool


def agency_options(session: Session, *, concrete_only: bool) -> list[AgencyOption]:
    """The agencies for a select (an account's agency, a group's members), unsorted;
    `concrete_only`: the active ones that are not groups (what an account can belong to).

    Four columns of one table: the agency service's list loads every agency as an object with
    its aliases and group members (two more statements), which cost the users page most of
    its time with 500 agencies.
    """
    statement = select(Agency.id, Agency.name, Agency.is_group, Agency.is_active)
    if concrete_only:
        statement = statement.where(Agency.is_group.is_(false()), Agency.is_active.is_(true()))
    return [AgencyOption(*row) for row in session.execute(statement)]
