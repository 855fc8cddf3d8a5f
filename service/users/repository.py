"""SQL of the users domain."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from service.models import Agency, ReportDeadline, ReportObligation, Task, User, UserRole


def _page(
    session: Session,
    query: Select[User],
    *,
    order_by: tuple[ColumnElement[object] | InstrumentedAttribute[object], ...],
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(joinedload(User.agency)).order_by(*order_by).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def list_users(
    session: Session,
    *,
    role: UserRole | None,
    agency_id: int | None,
    q: str | None,
    is_active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    if q:
        pattern = f"%{_escape_like(q.strip().lower())}%"
        query = query.where(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    return _page(session, query, order_by=(User.id,), limit=limit, offset=offset)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id, options=[joinedload(User.agency)])


def email_taken(session: Session, *, email: str, except_user_id: int | None = None) -> bool:
    query = select(User.id).where(User.email == email)
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    return session.scalar(query) is not None


def get_agency(session: Session, *, agency_id: int) -> Agency | None:
    return session.get(Agency, agency_id)


def plan_agency_ids(plan_id: int) -> Select[tuple[int]]:
    """Every agency with a task or a report obligation in the plan."""
    with_tasks = select(Task.agency_id).where(Task.plan_id == plan_id)
    with_reports = (
        select(ReportObligation.agency_id)
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .where(ReportDeadline.plan_id == plan_id)
    )
    return with_tasks.union(with_reports)  # type: ignore[return-value]


def list_focal_points(
    session: Session,
    *,
    scope: ColumnElement[bool],
    agency_id: int | None,
    plan_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    query = select(User).where(
        User.role == UserRole.FOCAL_POINT,
        User.is_active.is_(True),
        User.agency_id.is_not(None),
        scope,
    )
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    if plan_id is not None:
        query = query.where(User.agency_id.in_(plan_agency_ids(plan_id)))
    return _page(
        session,
        query,
        order_by=(User.agency_id, User.full_name, User.id),
        limit=limit,
        offset=offset,
    )
