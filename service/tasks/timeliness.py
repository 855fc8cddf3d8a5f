"""Timeliness (tiến độ so với hạn): derived from a task's dates and today, never stored or typed.

One rule, written twice: `timeliness()` for a task in hand and `timeliness_sql()` as a CASE
expression, so a list can filter and paginate on it in the database. The tests check that the
two agree on every combination.

The rule, in order:
1. hoàn thành: on time if it has no due date, no completion date, or was completed on or before
   the due date; late otherwise;
2. not done, no due date: chưa có hạn (the plan's report deadlines are not the task's deadline);
3. not done, due date passed: quá hạn chưa hoàn thành;
4. not done, due within `due_soon_days` days (today included): sắp đến hạn;
5. otherwise: đang thực hiện trong hạn (whatever the work state: it is still within its time).
"""

from __future__ import annotations

import enum
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, case, literal, or_

from service.models import Task, TaskState


class Timeliness(enum.StrEnum):
    HOAN_THANH_DUNG_HAN = "hoan_thanh_dung_han"
    HOAN_THANH_QUA_HAN = "hoan_thanh_qua_han"
    TRONG_HAN = "dang_thuc_hien_trong_han"
    SAP_DEN_HAN = "sap_den_han"
    QUA_HAN = "qua_han_chua_hoan_thanh"
    CHUA_CO_HAN = "chua_co_han"


def timeliness(
    *,
    state: TaskState,
    due_on: date | None,
    completed_on: date | None,
    today: date,
    due_soon_days: int,
) -> Timeliness:
    if state == TaskState.HOAN_THANH:
        if due_on is None or completed_on is None or completed_on <= due_on:
            return Timeliness.HOAN_THANH_DUNG_HAN
        return Timeliness.HOAN_THANH_QUA_HAN
    if due_on is None:
        return Timeliness.CHUA_CO_HAN
    if due_on < today:
        return Timeliness.QUA_HAN
    if due_on <= today + timedelta(days=due_soon_days):
        return Timeliness.SAP_DEN_HAN
    return Timeliness.TRONG_HAN


def timeliness_of(task: Task, *, today: date, due_soon_days: int) -> Timeliness:
    return timeliness(
        state=task.state,
        due_on=task.due_on,
        completed_on=task.completed_on,
        today=today,
        due_soon_days=due_soon_days,
    )


def timeliness_sql(*, today: date, due_soon_days: int) -> ColumnElement[str]:
    """The same rule as `timeliness()`, as SQL over the `tasks` row: the value is the enum's."""
    done = Task.state == TaskState.HOAN_THANH
    return case(
        (
            and_(
                done,
                or_(
                    Task.due_on.is_(None),
                    Task.completed_on.is_(None),
                    Task.completed_on <= Task.due_on,
                ),
            ),
            literal(Timeliness.HOAN_THANH_DUNG_HAN.value),
        ),
        (done, literal(Timeliness.HOAN_THANH_QUA_HAN.value)),
        (Task.due_on.is_(None), literal(Timeliness.CHUA_CO_HAN.value)),
        (Task.due_on < today, literal(Timeliness.QUA_HAN.value)),
        (
            Task.due_on <= today + timedelta(days=due_soon_days),
            literal(Timeliness.SAP_DEN_HAN.value),
        ),
        else_=literal(Timeliness.TRONG_HAN.value),
    )
