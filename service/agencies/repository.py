"""SQL of the agencies domain: agencies, their folded spellings and group membership."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from service.models import (
    Agency,
    AgencyAlias,
    AgencyGroupMember,
    AgencyKind,
    AgencyLevel,
    AuditLog,
    User,
)


def _with_details() -> tuple[Any, ...]:
    return (selectinload(Agency.aliases), selectinload(Agency.members))


def get(session: Session, *, agency_id: int) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.id == agency_id).options(*_with_details()))


def get_many(session: Session, *, agency_ids: Collection[int]) -> dict[int, Agency]:
    if not agency_ids:
        return {}
    rows = session.scalars(
        select(Agency).where(Agency.id.in_(set(agency_ids))).options(*_with_details())
    )
    return {row.id: row for row in rows}


def by_name(session: Session, *, name: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.name == name))


def by_names(session: Session, *, names: Collection[str]) -> dict[str, Agency]:
    if not names:
        return {}
    rows = session.scalars(
        select(Agency).where(Agency.name.in_(set(names))).options(*_with_details())
    )
    return {row.name: row for row in rows}


def by_folded_key(session: Session, *, key: str) -> Agency | None:
    return session.scalar(
        select(Agency)
        .join(AgencyAlias, AgencyAlias.agency_id == Agency.id)
        .where(AgencyAlias.folded_key == key)
    )


def alias_owners(session: Session, *, keys: Iterable[str]) -> dict[str, int]:
    """{folded_key: agency_id} for those of `keys` some agency already owns."""
    keys = set(keys)
    if not keys:
        return {}
    rows = session.execute(
        select(AgencyAlias.folded_key, AgencyAlias.agency_id).where(
            AgencyAlias.folded_key.in_(keys)
        )
    )
    return dict(rows.all())


def all_alias_owners(session: Session) -> dict[str, int]:
    rows = session.execute(select(AgencyAlias.folded_key, AgencyAlias.agency_id))
    return dict(rows.all())


def all_by_name(session: Session) -> dict[str, Agency]:
    return {row.name: row for row in session.scalars(select(Agency))}


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Agency)) or 0


def add(session: Session, agency: Agency) -> Agency:
    session.add(agency)
    session.flush()
    return agency


def add_alias(session: Session, *, agency: Agency, alias: str, key: str) -> None:
    session.add(AgencyAlias(agency_id=agency.id, alias=alias, folded_key=key))


def page(
    session: Session,
    *,
    limit: int,
    offset: int,
    level: AgencyLevel | None = None,
    kind: AgencyKind | None = None,
    folded_query: str | None = None,
    raw_query: str | None = None,
    is_group: bool | None = None,
    is_active: bool | None = None,
) -> tuple[list[Agency], int]:
    conditions = []
    if level is not None:
        conditions.append(Agency.level == level)
    if kind is not None:
        conditions.append(Agency.kind == kind)
    if is_group is not None:
        conditions.append(Agency.is_group.is_(is_group))
    if is_active is not None:
        conditions.append(Agency.is_active.is_(is_active))
    if folded_query:
        spelled = select(AgencyAlias.agency_id).where(
            AgencyAlias.folded_key.contains(folded_query, autoescape=True)
        )
        conditions.append(
            or_(Agency.id.in_(spelled), Agency.name.contains(raw_query or "", autoescape=True))
        )
    total = session.scalar(select(func.count()).select_from(Agency).where(*conditions)) or 0
    rows = session.scalars(
        select(Agency)
        .where(*conditions)
        .order_by(Agency.name, Agency.id)
        .limit(limit)
        .offset(offset)
        .options(*_with_details())
    )
    return list(rows), total


def active_members(session: Session, *, group_ids: Collection[int]) -> dict[int, list[int]]:
    """{group_id: [active member ids]} for each of `group_ids` (groups without any are absent)."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(AgencyGroupMember.group_id, AgencyGroupMember.member_id)
        .join(Agency, Agency.id == AgencyGroupMember.member_id)
        .where(AgencyGroupMember.group_id.in_(set(group_ids)), Agency.is_active.is_(True))
        .order_by(AgencyGroupMember.group_id, Agency.name, Agency.id)
    )
    members: dict[int, list[int]] = {}
    for group_id, member_id in rows:
        members.setdefault(group_id, []).append(member_id)
    return members


def groups_containing(session: Session, *, member_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AgencyGroupMember.group_id).where(AgencyGroupMember.member_id == member_id)
        )
    )


def add_audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity_id: int | None,
    detail: dict[str, Any],
) -> None:
    session.add(
        AuditLog(
            actor_user_id=actor.id if actor else None,
            action=action,
            entity="agencies",
            entity_id=entity_id,
            detail=detail,
        )
    )
