"""SQL of the notifications domain: what is due, who to tell, reminder events, plan policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from notifications.outbox import insert_ignoring_duplicates
from service.models import (
    Agency,
    AuditLog,
    ExtraHoliday,
    ObligationStatus,
    Plan,
    PlanReminderPolicy,
    PlanStatus,
    ReminderEvent,
    ReminderEventState,
    ReportDeadline,
    ReportObligation,
    Task,
    TaskState,
    User,
    UserRole,
    utcnow,
)

OPEN_OBLIGATION = (ObligationStatus.PENDING, ObligationStatus.RETURNED)

AnyRow = Row[*tuple[Any, ...]]


# --- What is due -------------------------------------------------------------------------------


def plan_policies(session: Session, *, plan_ids: Iterable[int] | None = None) -> dict[int, Any]:
    """{plan_id: PlanReminderPolicy} for the given plans (all plans with one when None)."""
    query = select(PlanReminderPolicy)
    if plan_ids is not None:
        query = query.where(PlanReminderPolicy.plan_id.in_(list(plan_ids)))
    return {row.plan_id: row for row in session.scalars(query)}


def open_obligations_due(session: Session, *, earliest: date, latest: date) -> Sequence[AnyRow]:
    """Unsent reports of active plans due in [earliest, latest]: a range scan on the
    (status, due_on) index, then primary-key lookups of their deadlines and plans."""
    return session.execute(
        select(
            ReportObligation.id,
            ReportObligation.agency_id,
            ReportObligation.due_on,
            ReportObligation.status,
            ReportObligation.reviewed_at,
            ReportDeadline.plan_id,
            Plan.lead_agency_id,
            Plan.report_to_agency_id,
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Plan, Plan.id == ReportDeadline.plan_id)
        .where(
            ReportObligation.status.in_(OPEN_OBLIGATION),
            ReportObligation.due_on.between(earliest, latest),
            Plan.status == PlanStatus.ACTIVE,
        )
    ).all()


def open_tasks_due(session: Session, *, earliest: date, latest: date) -> Sequence[AnyRow]:
    """Unfinished tasks of active plans due in [earliest, latest] (the (due_on, state) index)."""
    return session.execute(
        select(
            Task.id,
            Task.agency_id,
            Task.due_on,
            Task.plan_id,
            Plan.lead_agency_id,
            Plan.report_to_agency_id,
        )
        .join(Plan, Plan.id == Task.plan_id)
        .where(
            Task.due_on.between(earliest, latest),
            Task.state != TaskState.HOAN_THANH,
            Plan.status == PlanStatus.ACTIVE,
        )
    ).all()


# --- Who to tell -------------------------------------------------------------------------------


def users_of(
    session: Session, *, role: UserRole, agency_ids: Iterable[int], with_no_agency: bool = False
) -> Sequence[AnyRow]:
    """Active users with `role` in these agencies (and those with no agency, if asked).

    Plain rows, not ORM objects: a sweep may read thousands, and only reads them.
    """
    ids = list(agency_ids)
    condition: ColumnElement[bool] = User.agency_id.in_(ids)
    if with_no_agency:
        condition = or_(condition, User.agency_id.is_(None))
    return session.execute(
        select(
            User.id,
            User.email,
            User.full_name,
            User.agency_id,
            User.reminders_paused_until,
        )
        .where(User.role == role, User.is_active, condition)
        .order_by(User.email)
    ).all()


def agencies(session: Session, *, agency_ids: Iterable[int]) -> dict[int, AnyRow]:
    rows = session.execute(
        select(Agency.id, Agency.name, Agency.kind, Agency.parent_id, Agency.head_email).where(
            Agency.id.in_(list(agency_ids))
        )
    ).all()
    return {row.id: row for row in rows}


def users(session: Session, *, user_ids: Iterable[int]) -> dict[int, User]:
    return {
        user.id: user for user in session.scalars(select(User).where(User.id.in_(list(user_ids))))
    }


# --- Reminder events ---------------------------------------------------------------------------


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert events, skipping those whose dedup key exists; how many were new.

    The keys already there are read first (one indexed look-up: most sweeps of a day find
    everything queued), the rest inserted with ON CONFLICT DO NOTHING, which settles races
    with another sweep.
    """
    existing: set[str] = set()
    keys = [row["dedup_key"] for row in rows]
    for start in range(0, len(keys), 1000):
        existing.update(
            session.scalars(
                select(ReminderEvent.dedup_key).where(
                    ReminderEvent.dedup_key.in_(keys[start : start + 1000])
                )
            )
        )
    new = [row for row in rows if row["dedup_key"] not in existing]
    if not new:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _insert_events_postgresql(session, new)
    statement = insert_ignoring_duplicates(session, ReminderEvent.__table__).returning(
        ReminderEvent.__table__.c.id
    )
    return len(session.connection().execute(statement, new).all())


_EVENT_COLUMNS = {
    "dedup_key": "varchar",
    "recipient_email": "varchar",
    "user_id": "integer",
    "audience": "varchar",
    "obligation_id": "integer",
    "task_id": "integer",
    "step": "varchar",
    "due_on": "date",
    "fire_on": "date",
    "immediate": "boolean",
    "state": "varchar",
    "created_at": "timestamptz",
}


def _insert_events_postgresql(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """One INSERT ... SELECT FROM unnest(arrays): a thousand rows cost one short statement
    with twelve parameters, instead of twelve thousand placeholders to parse."""
    columns = ", ".join(_EVENT_COLUMNS)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _EVENT_COLUMNS.items())
    statement = text(
        f"INSERT INTO reminder_events ({columns}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
    )
    params = {
        name: [
            str(row[name]) if name == "state" else row[name]  # an enum: its value
            for row in rows
        ]
        for name in _EVENT_COLUMNS
    }
    return len(session.execute(statement, params).all())


# Any fixed number: the key of the PostgreSQL advisory lock that serialises composers.
_COMPOSE_LOCK = 7_342_001


def lock_composer(session: Session) -> None:
    """One composer at a time on PostgreSQL (until the transaction ends). SQLite has a single
    writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_COMPOSE_LOCK)))


def queued_events(session: Session) -> Sequence[ReminderEvent]:
    return session.scalars(
        select(ReminderEvent)
        .where(ReminderEvent.state == ReminderEventState.QUEUED)
        .order_by(ReminderEvent.recipient_email, ReminderEvent.id)
    ).all()


def drop_events(session: Session, *, event_ids: Sequence[int]) -> None:
    """Queued events no longer worth sending (events another composer handled stay as they
    are)."""
    for start in range(0, len(event_ids), 500):
        session.execute(
            update(ReminderEvent)
            .where(
                ReminderEvent.id.in_(event_ids[start : start + 500]),
                ReminderEvent.state == ReminderEventState.QUEUED,
            )
            .values(state=ReminderEventState.DROPPED)
            .execution_options(synchronize_session=False)
        )


def batch_events(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Queued events into their e-mails: (event id, notification id) pairs, one executemany."""
    if not links:
        return
    table = cast(Table, ReminderEvent.__table__)
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("event_id"),
            table.c.state == ReminderEventState.QUEUED.value,
        )
        .values(state=ReminderEventState.BATCHED.value, notification_id=bindparam("message_id"))
    )
    session.connection().execute(
        statement,
        [{"event_id": event_id, "message_id": message_id} for event_id, message_id in links],
    )


def obligation_details(session: Session, *, obligation_ids: Iterable[int]) -> dict[int, AnyRow]:
    """Everything a reminder about these reports shows, and what it re-checks before sending."""
    rows = session.execute(
        select(
            ReportObligation.id,
            ReportObligation.status,
            ReportObligation.due_on,
            ReportObligation.review_comment,
            ReportDeadline.label,
            Plan.id.label("plan_id"),
            Plan.number,
            Plan.status.label("plan_status"),
            Agency.name.label("agency"),
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Plan, Plan.id == ReportDeadline.plan_id)
        .join(Agency, Agency.id == ReportObligation.agency_id)
        .where(ReportObligation.id.in_(list(obligation_ids)))
    ).all()
    return {row.id: row for row in rows}


def task_details(session: Session, *, task_ids: Iterable[int]) -> dict[int, AnyRow]:
    rows = session.execute(
        select(
            Task.id,
            Task.state,
            Task.due_on,
            Task.text,
            Plan.id.label("plan_id"),
            Plan.number,
            Plan.status.label("plan_status"),
            Agency.name.label("agency"),
        )
        .join(Plan, Plan.id == Task.plan_id)
        .join(Agency, Agency.id == Task.agency_id)
        .where(Task.id.in_(list(task_ids)))
    ).all()
    return {row.id: row for row in rows}


# --- The lead office's "đôn đốc" ---------------------------------------------------------------


def plan(session: Session, *, plan_id: int) -> Plan | None:
    return session.get(Plan, plan_id)


def agencies_in_plan(session: Session, *, plan_id: int) -> set[int]:
    """Agencies with a task or a report in the plan."""
    with_tasks = select(Task.agency_id).where(Task.plan_id == plan_id)
    with_reports = (
        select(ReportObligation.agency_id)
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .where(ReportDeadline.plan_id == plan_id)
    )
    return set(session.scalars(with_tasks.union(with_reports)))


def open_obligations_of(
    session: Session, *, plan_id: int, agency_id: int, due_before: date
) -> Sequence[AnyRow]:
    return session.execute(
        select(
            ReportObligation.id,
            ReportObligation.due_on,
            ReportObligation.status,
            ReportObligation.review_comment,
            ReportDeadline.label,
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .where(
            ReportDeadline.plan_id == plan_id,
            ReportObligation.agency_id == agency_id,
            ReportObligation.status.in_(OPEN_OBLIGATION),
            ReportObligation.due_on <= due_before,
        )
        .order_by(ReportObligation.due_on, ReportObligation.id)
    ).all()


def open_tasks_of(
    session: Session, *, plan_id: int, agency_id: int, due_before: date
) -> Sequence[AnyRow]:
    return session.execute(
        select(Task.id, Task.due_on, Task.text)
        .where(
            Task.plan_id == plan_id,
            Task.agency_id == agency_id,
            Task.state != TaskState.HOAN_THANH,
            Task.due_on <= due_before,
        )
        .order_by(Task.due_on, Task.id)
    ).all()


def add_audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any],
) -> None:
    session.add(
        AuditLog(
            at=utcnow(),
            actor_user_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )
    session.flush()


# --- Extra holidays ----------------------------------------------------------------------------


def extra_holidays(session: Session, *, year: int | None) -> Sequence[ExtraHoliday]:
    query = select(ExtraHoliday).order_by(ExtraHoliday.day)
    if year is not None:
        query = query.where(ExtraHoliday.day.between(date(year, 1, 1), date(year, 12, 31)))
    return session.scalars(query).all()


def extra_holiday(session: Session, *, day: date) -> ExtraHoliday | None:
    return session.scalar(select(ExtraHoliday).where(ExtraHoliday.day == day))


# --- Calendar feed -----------------------------------------------------------------------------


def open_deadlines(
    session: Session,
    *,
    obligation_condition: ColumnElement[bool],
    task_condition: ColumnElement[bool],
    earliest: date,
    latest: date,
    limit: int,
) -> tuple[Sequence[AnyRow], Sequence[AnyRow]]:
    """Unsent reports and unfinished tasks of active plans due in [earliest, latest], within
    the caller's scope (the conditions of service.auth.scope)."""
    obligations = session.execute(
        select(
            ReportObligation.id,
            ReportObligation.due_on,
            ReportDeadline.label,
            Plan.number,
            Agency.name.label("agency"),
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Plan, Plan.id == ReportDeadline.plan_id)
        .join(Agency, Agency.id == ReportObligation.agency_id)
        .where(
            obligation_condition,
            ReportObligation.status.in_(OPEN_OBLIGATION),
            ReportObligation.due_on.between(earliest, latest),
            Plan.status == PlanStatus.ACTIVE,
        )
        .order_by(ReportObligation.due_on, ReportObligation.id)
        .limit(limit)
    ).all()
    tasks = session.execute(
        select(Task.id, Task.due_on, Task.text, Plan.number, Agency.name.label("agency"))
        .join(Plan, Plan.id == Task.plan_id)
        .join(Agency, Agency.id == Task.agency_id)
        .where(
            task_condition,
            Task.state != TaskState.HOAN_THANH,
            Task.due_on.between(earliest, latest),
            Plan.status == PlanStatus.ACTIVE,
        )
        .order_by(Task.due_on, Task.id)
        .limit(limit)
    ).all()
    return obligations, tasks
