"""The one aggregate the dashboards need that no other domain has: a plan's tasks counted by
agency and timeliness, with their summed progress, in one GROUP BY.

Why here: the consolidated report loads every task with its latest update (half a second for
2,000 tasks), and the tasks domain counts one agency at a time; a dashboard of 500 agencies and
50,000 tasks needs one grouped statement. Timeliness is the tasks domain's own SQL expression
(`timeliness_sql`), so the rule still exists once. A candidate to move to service/tasks/.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from service.models import Agency, Task
from service.tasks.timeliness import timeliness_sql


def task_counts(
    session: Session, *, plan_id: int, today: date, due_soon_days: int
) -> Sequence[Row[Any]]:
    """(agency_id, agency_name, timeliness, tasks, progress) for every agency in the plan."""
    timeliness = timeliness_sql(today=today, due_soon_days=due_soon_days)
    counted = (
        select(
            Task.agency_id,
            timeliness.label("timeliness"),
            func.count().label("tasks"),
            func.sum(Task.progress).label("progress"),
        )
        .where(Task.plan_id == plan_id)
        .group_by(Task.agency_id, timeliness)
        .subquery()
    )
    statement = select(
        counted.c.agency_id,
        Agency.name.label("agency_name"),
        counted.c.timeliness,
        counted.c.tasks,
        counted.c.progress,
    ).join(Agency, Agency.id == counted.c.agency_id)
    return session.execute(statement).all()
