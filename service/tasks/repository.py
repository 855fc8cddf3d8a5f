"""SQL of the tasks domain: tasks, their history, report obligations, attachments, audit rows.

Every read takes an authorization condition (`service.auth.scope`), so a row the caller may not
see is simply not found. A page costs at most two statements (rows, count), whatever its size.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import Session, selectinload

from service.models import (
    Agency,
    Attachment,
    AuditLog,
    Plan,
    ReportDeadline,
    ReportObligation,
    StatusUpdate,
    Task,
    User,
)
from service.tasks.timeliness import timeliness_sql

# Statements and rows of any shape: pages are read by column name.
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]


# --- Text search --------------------------------------------------------------------------------


def _folding() -> tuple[str, str]:
    """Each lower-case Latin letter with diacritics and its bare letter: "ắ" -> "a", "đ" -> "d"."""
    letters = [chr(c) for c in [*range(0xC0, 0x250), *range(0x1EA0, 0x1EFA)]]
    pairs = {"đ": "d"}
    for letter in letters:
        base = unicodedata.normalize("NFD", letter)[0]
        if letter.lower() == letter and base != letter and base.isascii() and base.isalpha():
            pairs[letter] = base
    return "".join(pairs), "".join(pairs.values())


_FOLD_FROM, _FOLD_TO = _folding()
_FOLD_TABLE = str.maketrans(_FOLD_FROM, _FOLD_TO)


def fold_text(text: str) -> str:
    """What a search compares: lower case without diacritics, so "Khám", "KHÁM" and "kham"
    are the same word, and so are the tone placements "hoá" and "hóa"."""
    return unicodedata.normalize("NFC", text).lower().translate(_FOLD_TABLE)


def _sqlite_fold(text: str | None) -> str | None:
    return None if text is None else fold_text(text)


def text_contains(session: Session, column: Any, words: str) -> ColumnElement[bool]:
    """`column` contains `words`, ignoring case and diacritics, LIKE wildcards taken literally.

    PostgreSQL folds with lower() and translate(); SQLite's lower() knows only ASCII, so the
    same Python fold is registered on its connection.
    """
    folded = fold_text(words.strip())
    pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if session.get_bind().dialect.name == "sqlite":
        raw = session.connection().connection.dbapi_connection
        raw.create_function("dondoc_fold", 1, _sqlite_fold, deterministic=True)  # type: ignore[union-attr]
        target = func.dondoc_fold(column)
    else:
        target = func.translate(func.lower(column), _FOLD_FROM, _FOLD_TO)
    return target.like(pattern, escape="\\")


def _page(
    session: Session, statement: AnySelect, counted: AnySelect, *, limit: int, offset: int
) -> tuple[Sequence[AnyRow], int]:
    """One page of `statement`, and the total from `counted` (a `count(*)` of the same rows).

    The count runs only when the page does not already tell the total (a first page that is
    not full, a last page). It is its own query rather than `count(*) OVER ()` on the page: on
    PostgreSQL 15 the planner costs such a window as if it could stop early, and walks a date
    index over every task instead of the few rows the filters select.
    """
    rows = session.execute(statement.limit(limit).offset(offset)).all()
    if 0 < len(rows) < limit or (offset == 0 and not rows):
        return rows, offset + len(rows)
    return rows, int(session.scalar(counted) or 0)


# --- Tasks --------------------------------------------------------------------------------------


# Undated tasks sort last. Sorting on this expression rather than on `due_on` itself also keeps
# PostgreSQL from walking the due-date index over every task to fill a page of one agency's or
# one plan's: it reads the rows the filters select (an agency's, a plan's) and sorts those.
LAST_DAY = date(9999, 12, 31)


def _task_rows() -> AnySelect:
    """A task with what its API shape needs: agency name, plan title and status.

    Timeliness is not selected: the service derives it from the row (the SQL form of the rule
    is for filtering, where it must run in the database).
    """
    return (
        select(
            Task,
            Agency.name.label("agency_name"),
            Plan.title.label("plan_title"),
            Plan.status.label("plan_status"),
        )
        .join(Agency, Agency.id == Task.agency_id)
        .join(Plan, Plan.id == Task.plan_id)
    )


def list_tasks(
    session: Session, *, conditions: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> tuple[Sequence[AnyRow], int]:
    statement = (
        _task_rows().where(*conditions).order_by(func.coalesce(Task.due_on, LAST_DAY), Task.id)
    )
    # Every task has exactly one agency and one plan: the total needs no joins.
    counted = select(func.count()).select_from(Task).where(*conditions)
    return _page(session, statement, counted, limit=limit, offset=offset)


def get_task(session: Session, *, task_id: int, scope: ColumnElement[bool]) -> AnyRow | None:
    return session.execute(_task_rows().where(Task.id == task_id, scope)).first()


def list_updates(
    session: Session, *, task_id: int, limit: int, offset: int
) -> tuple[Sequence[AnyRow], int]:
    """A task's history, newest first, with who wrote each update and its evidence."""
    statement = (
        select(StatusUpdate, User.full_name.label("user_name"))
        .join(User, User.id == StatusUpdate.user_id)
        .where(StatusUpdate.task_id == task_id)
        .options(selectinload(StatusUpdate.attachments))
        .order_by(StatusUpdate.created_at.desc(), StatusUpdate.id.desc())
    )
    counted = select(func.count()).where(StatusUpdate.task_id == task_id)
    return _page(session, statement, counted, limit=limit, offset=offset)


def task_states(session: Session, *, plan_id: int, agency_id: int) -> Sequence[AnyRow]:
    """An agency's tasks in a plan as they stand: what a periodic report reports on."""
    return session.execute(
        select(Task.id, Task.state, Task.progress, Task.due_on, Task.completed_on)
        .where(Task.plan_id == plan_id, Task.agency_id == agency_id)
        .order_by(Task.id)
    ).all()


def count_tasks(
    session: Session, *, plan_id: int, agency_id: int, today: date, due_soon_days: int
) -> Sequence[AnyRow]:
    """(state, timeliness, count) of an agency's tasks in a plan."""
    timeliness = timeliness_sql(today=today, due_soon_days=due_soon_days)
    return session.execute(
        select(Task.state, timeliness.label("timeliness"), func.count().label("tasks"))
        .where(Task.plan_id == plan_id, Task.agency_id == agency_id)
        .group_by(Task.state, timeliness)
    ).all()


# --- Report obligations -------------------------------------------------------------------------


def _obligation_rows() -> AnySelect:
    """An obligation with its deadline, its plan (for the review rule) and its agency's name."""
    return (
        select(ReportObligation, ReportDeadline, Plan, Agency.name.label("agency_name"))
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Plan, Plan.id == ReportDeadline.plan_id)
        .join(Agency, Agency.id == ReportObligation.agency_id)
    )


def list_obligations(
    session: Session, *, conditions: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> tuple[Sequence[AnyRow], int]:
    statement = (
        _obligation_rows()
        .where(*conditions)
        .order_by(ReportObligation.due_on, Agency.name, ReportObligation.id)
    )
    # A filter may name the deadline's plan: keep that join, drop the others.
    counted = (
        select(func.count())
        .select_from(ReportObligation)
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .where(*conditions)
    )
    return _page(session, statement, counted, limit=limit, offset=offset)


def get_obligation(
    session: Session, *, obligation_id: int, scope: ColumnElement[bool]
) -> AnyRow | None:
    statement = _obligation_rows().where(ReportObligation.id == obligation_id, scope)
    return session.execute(statement).first()


def obligation_attachments(session: Session, *, obligation_id: int) -> Sequence[Attachment]:
    return session.scalars(
        select(Attachment)
        .where(Attachment.obligation_id == obligation_id)
        .order_by(Attachment.created_at, Attachment.id)
    ).all()


# --- Attachments and audit ----------------------------------------------------------------------


def get_attachment(
    session: Session,
    *,
    attachment_id: int,
    task_scope: ColumnElement[bool],
    obligation_scope: ColumnElement[bool],
) -> Attachment | None:
    """An attachment the caller may see: through its task, or through its report obligation."""
    return session.scalars(
        select(Attachment)
        .outerjoin(StatusUpdate, StatusUpdate.id == Attachment.status_update_id)
        .outerjoin(Task, Task.id == StatusUpdate.task_id)
        .outerjoin(ReportObligation, ReportObligation.id == Attachment.obligation_id)
        .where(
            Attachment.id == attachment_id,
            (Task.id.is_not(None) & task_scope)
            | (ReportObligation.id.is_not(None) & obligation_scope),
        )
    ).first()


def add_audit(
    session: Session,
    *,
    at: datetime,
    actor: User,
    action: str,
    entity: str,
    entity_id: int,
    detail: dict[str, Any],
) -> None:
    session.add(
        AuditLog(
            at=at,
            actor_user_id=actor.id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )
