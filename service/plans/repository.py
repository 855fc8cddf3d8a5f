"""SQL of the plans domain: plans as a user may see them, and the rows activation creates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.auth.scope import plan_scope
from service.database import SessionFactory
from service.models import (
    Assignment,
    AuditLog,
    Plan,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    Task,
    User,
)


def visible(session: Session, *, plan_id: int, user: User, for_update: bool = False) -> Plan | None:
    """The plan if `user` may see it. `for_update` locks the row (PostgreSQL) for an edit, so
    two reviewers saving the same draft apply their edits one after the other."""
    query = select(Plan).where(Plan.id == plan_id, plan_scope(user))
    if for_update:
        query = query.with_for_update(of=Plan)
    return session.scalar(query)


def by_id(session: Session, *, plan_id: int) -> Plan | None:
    return session.get(Plan, plan_id)


def id_by_sha256(session: Session, *, sha256: str) -> int | None:
    return session.scalar(select(Plan.id).where(Plan.source_sha256 == sha256))


def committed_duplicate(
    session: Session, *, sha256: str, user: User | None
) -> tuple[int, bool] | None:
    """(id, visible to `user`) of a plan another transaction committed with this file.

    Read outside `session`, whose transaction a unique-key violation has spoiled. `user` None
    (the command line) sees every plan.
    """
    with SessionFactory(bind=session.get_bind()) as other:
        plan_id = id_by_sha256(other, sha256=sha256)
        if plan_id is None:
            return None
        return plan_id, user is None or is_visible(other, plan_id=plan_id, user=user)


def is_visible(session: Session, *, plan_id: int, user: User) -> bool:
    return session.scalar(select(Plan.id).where(Plan.id == plan_id, plan_scope(user))) is not None


def add(session: Session, plan: Plan) -> Plan:
    session.add(plan)
    session.flush()
    return plan


def delete(session: Session, plan: Plan) -> None:
    session.delete(plan)
    session.flush()


def page(
    session: Session,
    *,
    user: User,
    limit: int,
    offset: int,
    status: PlanStatus | None = None,
    q: str | None = None,
) -> tuple[list[Plan], int]:
    conditions = [plan_scope(user)]
    if status is not None:
        conditions.append(Plan.status == status)
    if q:
        conditions.append(
            or_(
                func.lower(Plan.title).contains(q.lower(), autoescape=True),
                func.lower(Plan.number).contains(q.lower(), autoescape=True),
                func.lower(Plan.source_filename).contains(q.lower(), autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(Plan).where(*conditions)) or 0
    rows = session.scalars(
        select(Plan)
        .where(*conditions)
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def parent_id(session: Session, *, plan_id: int) -> int | None:
    return session.scalar(select(Plan.parent_plan_id).where(Plan.id == plan_id))


def counts(session: Session, *, plan_id: int) -> tuple[int, int, int, int]:
    """(assignments, tasks, deadlines, obligations) of one plan."""

    def count(query: Any) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    return (
        count(select(Assignment.id).where(Assignment.plan_id == plan_id)),
        count(select(Task.id).where(Task.plan_id == plan_id)),
        count(select(ReportDeadline.id).where(ReportDeadline.plan_id == plan_id)),
        count(
            select(ReportObligation.id)
            .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
            .where(ReportDeadline.plan_id == plan_id)
        ),
    )


def add_rows(session: Session, rows: list[Any]) -> None:
    session.add_all(rows)
    session.flush()


def add_audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    plan_id: int,
    detail: dict[str, Any],
) -> None:
    session.add(
        AuditLog(
            actor_user_id=actor.id if actor else None,
            action=action,
            entity="plans",
            entity_id=plan_id,
            detail=detail,
        )
    )
    session.flush()
