"""SQL of the tasks domain: tasks, their history, report obligations, attachments, audit rows.

Every read takes an authorization condition (`service.auth.scope`), so a row the caller may not
see is simply not found. A page costs at most two statements (rows, count), whatever its size.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, func, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, selectinload

from service.auth.scope import Scope
from service.models import (
    Agency,
    Attachment,
    AuditLog,
    Plan,
    ReportDeadline,
    ReportObligation,
    StatusUpdate,
    Task,
    TaskState,
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
    return rows, _total(session, rows, counted, limit=limit, offset=offset)


def _total(
    session: Session, rows: Sequence[AnyRow], counted: AnySelect, *, limit: int, offset: int
) -> int:
    """How many rows the page at `offset` is part of, counting only when `rows` cannot tell."""
    if 0 < len(rows) < limit or (offset == 0 and not rows):
        return offset + len(rows)
    return int(session.scalar(counted) or 0)


# --- Tasks --------------------------------------------------------------------------------------


# Undated tasks sort last. Sorting on this expression rather than on `due_on` itself also keeps
# PostgreSQL from walking the due-date index over every task to fill a page of one agency's or
# one plan's: it reads the rows the filters select (an agency's, a plan's) and sorts those.
LAST_DAY = date(9999, 12, 31)


def _task_rows() -> AnySelect:
    """A task's columns with what its API shape needs: agency name, plan title and status.

    Columns, not the `Task` entity: rows are read, never changed through the ORM, and loading
    entities into the session costs more than the query. Timeliness is not selected: the
    service derives it from the row (the SQL form of the rule is for filtering, where it must
    run in the database).
    """
    return (
        select(
            Task.id,
            Task.plan_id,
            Task.assignment_id,
            Task.agency_id,
            Task.text,
            Task.role,
            Task.co_agencies,
            Task.due_on,
            Task.state,
            Task.progress,
            Task.blocked_reason,
            Task.completed_on,
            Task.version,
            Task.updated_at,
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
    order = (func.coalesce(Task.due_on, LAST_DAY), Task.id)
    # The page's ids first, then only those rows with their joins: where an index holds the
    # filtered columns (a plan's tasks due before a day: ix_tasks_plan_due), the database sorts
    # index entries rather than reading every row the filters select (PostgreSQL: 67 -> 8 ms
    # for a page of a plan's 15,000 overdue tasks).
    page = select(Task.id).where(*conditions).order_by(*order).limit(limit).offset(offset)
    statement = _task_rows().where(Task.id.in_(page.scalar_subquery())).order_by(*order)
    rows = session.execute(statement).all()
    # Every task has exactly one agency and one plan: the total needs no joins.
    counted = select(func.count()).select_from(Task).where(*conditions)
    return rows, _total(session, rows, counted, limit=limit, offset=offset)


# One task by id, per kind of scope: built once, as every status update and task page reads it.
_TASK_BY_ID: dict[str, AnySelect] = {}


def get_task(session: Session, *, task_id: int, scope: Scope) -> AnyRow | None:
    statement = _TASK_BY_ID.get(scope.kind)
    if statement is None:
        statement = _task_rows().where(Task.id == bindparam("task_id"), scope.condition)
        _TASK_BY_ID[scope.kind] = statement
    return session.execute(statement, {"task_id": task_id, **scope.params}).first()


# The writes of a status update, built once (they run on every update) as plain Core statements
# on the tables, without the ORM's unit of work: one statement on PostgreSQL, three elsewhere.
_TASKS = cast(Table, Task.__table__)
_STATUS_UPDATES = cast(Table, StatusUpdate.__table__)
_AUDIT_LOG = cast(Table, AuditLog.__table__)

# The optimistic lock: the row changes only if it is still at the version the caller read.
_SET_TASK_STATE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.version == bindparam("read_version"))
    .values(
        state=bindparam("new_state", type_=_TASKS.c.state.type),
        progress=bindparam("new_progress"),
        blocked_reason=bindparam("new_blocked_reason"),
        completed_on=bindparam("new_completed_on", type_=_TASKS.c.completed_on.type),
        version=bindparam("new_version"),
        updated_at=bindparam("new_updated_at", type_=_TASKS.c.updated_at.type),
    )
)
_INSERT_STATUS_UPDATE = insert(_STATUS_UPDATES).returning(_STATUS_UPDATES.c.id)
_INSERT_AUDIT = insert(_AUDIT_LOG)


def record_status_update(
    session: Session,
    *,
    task_id: int,
    version: int,
    user_id: int,
    at: datetime,
    state: TaskState,
    progress: int,
    blocked_reason: str | None,
    completed_on: date | None,
    narrative: str | None,
    audit: dict[str, Any],
) -> int | None:
    """A task's new state (if it is still at `version`, which becomes `version + 1`), its
    history row and its audit row; the history row's id. None, writing nothing, when someone
    else saved the task first (or it is gone).

    PostgreSQL: one statement (the UPDATE and both INSERTs as data-modifying CTEs), so one
    round trip to the database; elsewhere three.
    """
    values = {
        "task_id": task_id,
        "read_version": version,
        "new_state": state,
        "new_progress": progress,
        "new_blocked_reason": blocked_reason,
        "new_completed_on": completed_on,
        "new_version": version + 1,
        "new_updated_at": at,
    }
    history = {
        "task_id": task_id,
        "user_id": user_id,
        "created_at": at,
        "state": state,
        "progress": progress,
        "narrative": narrative,
        "blocked_reason": blocked_reason,
    }
    audit_row = {
        "at": at,
        "actor_user_id": user_id,
        "action": "task.update",
        "entity": "tasks",
        "entity_id": task_id,
        "detail": audit,
    }
    if session.get_bind().dialect.name == "postgresql":
        params = {**values, **{f"history_{k}": v for k, v in history.items()}}
        params.update({f"audit_{k}": v for k, v in audit_row.items()})
        update_id = session.execute(_RECORD_STATUS_UPDATE, params).scalar()
        if update_id is None:
            return None
    else:
        if getattr(session.execute(_SET_TASK_STATE, values), "rowcount", 0) != 1:
            return None
        update_id = session.execute(_INSERT_STATUS_UPDATE, history).scalar_one()
        session.execute(_INSERT_AUDIT, audit_row)
    # A `Task` this session loaded before holds the old values: reload it when next read.
    loaded = session.identity_map.get(sa_inspect(Task).identity_key_from_primary_key((task_id,)))
    if loaded is not None:
        session.expire(loaded)
    return int(update_id)


def _record_in_one_statement() -> AnySelect:
    """`WITH changed AS (UPDATE tasks ... RETURNING id), history AS (INSERT INTO
    status_updates SELECT ... FROM changed RETURNING id), audit AS (INSERT INTO audit_log
    SELECT ... FROM changed) SELECT id FROM history`: both INSERTs read the UPDATE's row, so
    when it changed nothing they insert nothing."""
    changed = _SET_TASK_STATE.returning(_TASKS.c.id).cte("changed")

    def rows(table: Table, prefix: str, columns: list[str]) -> AnySelect:
        return select(
            *(
                changed.c.id
                if column in ("task_id", "entity_id")
                else bindparam(f"{prefix}_{column}", type_=table.c[column].type)
                for column in columns
            )
        ).select_from(changed)

    history_columns = [
        "task_id",
        "user_id",
        "created_at",
        "state",
        "progress",
        "narrative",
        "blocked_reason",
    ]
    history = (
        insert(_STATUS_UPDATES)
        .from_select(history_columns, rows(_STATUS_UPDATES, "history", history_columns))
        .returning(_STATUS_UPDATES.c.id)
        .cte("history")
    )
    audit_columns = ["at", "actor_user_id", "action", "entity", "entity_id", "detail"]
    audit = insert(_AUDIT_LOG).from_select(audit_columns, rows(_AUDIT_LOG, "audit", audit_columns))
    return select(history.c.id).add_cte(audit.cte("audit"))


_RECORD_STATUS_UPDATE = _record_in_one_statement()


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
    """One audit row, inserted now (a plain INSERT: audit rows are written, never read back)."""
    session.execute(
        _INSERT_AUDIT,
        {
            "at": at,
            "actor_user_id": actor.id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "detail": detail,
        },
    )
