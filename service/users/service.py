"""Rules for accounts: who may hold which role, and the administrator's changes to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.auth import passwords
from service.auth import repository as auth_repo
from service.auth.scope import focal_point_scope
from service.errors import AppError
from service.models import User, UserRole, utcnow
from service.users import repository as repo
from service.users.schemas import FocalPointRead, UserCreate, UserRead, UserUpdate

# Roles that act for one agency, so an account without an agency could do nothing.
ROLES_WITH_AGENCY = frozenset({UserRole.FOCAL_POINT, UserRole.LEAD_OFFICE})


def to_read(user: User) -> UserRead:
    read = UserRead.model_validate(user)
    return read.model_copy(
        update={
            "agency_name": user.agency.name if user.agency is not None else None,
            "has_password": user.password_hash is not None,
        }
    )


def list_users(
    session: Session,
    *,
    role: UserRole | None = None,
    agency_id: int | None = None,
    q: str | None = None,
    is_active: bool | None = None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    return repo.list_users(
        session,
        role=role,
        agency_id=agency_id,
        q=q,
        is_active=is_active,
        limit=limit,
        offset=offset,
    )


def get_user(session: Session, *, user_id: int) -> User:
    user = repo.get_user(session, user_id=user_id)
    if user is None:
        raise AppError("user.not_found", status=404)
    return user


def _check_agency(session: Session, *, role: UserRole, agency_id: int | None) -> None:
    if agency_id is None:
        if role in ROLES_WITH_AGENCY:
            raise AppError("user.agency_required", status=422)
        return
    agency = repo.get_agency(session, agency_id=agency_id)
    if agency is None:
        raise AppError("user.agency_not_found", status=404, agency_id=agency_id)
    if not agency.is_active:
        raise AppError("user.agency_inactive", status=422, name=agency.name)
    if agency.is_group and role in ROLES_WITH_AGENCY:
        # A group ("UBND các xã") has no tasks of its own: its members do.
        raise AppError("user.agency_is_group", status=422, name=agency.name)


def create_user(session: Session, *, actor: User | None, data: UserCreate) -> User:
    """A new account. `actor` None: created from the command line."""
    if repo.email_taken(session, email=data.email):
        raise AppError("user.email_taken", status=409, email=data.email)
    _check_agency(session, role=data.role, agency_id=data.agency_id)
    user = User(
        email=data.email,
        full_name=data.full_name,
        phone=data.phone,
        role=data.role,
        agency_id=data.agency_id,
        password_hash=passwords.hash_password(data.password) if data.password else None,
    )
    session.add(user)
    session.flush()
    session.refresh(user, attribute_names=["agency"])
    auth_repo.add_audit(
        session,
        actor=actor,
        action="user.create",
        entity="users",
        entity_id=user.id,
        detail={
            "email": user.email,
            "role": user.role.value,
            "agency_id": user.agency_id,
            "password_set": data.password is not None,
        },
    )
    return user


def update_user(
    session: Session,
    *,
    actor: User,
    user_id: int,
    data: UserUpdate,
    now: datetime | None = None,
) -> User:
    user = get_user(session, user_id=user_id)
    sent = data.model_fields_set
    for field in ("email", "full_name", "role", "is_active"):
        if field in sent and getattr(data, field) is None:
            raise AppError("user.field_required", status=422, field=field)
    role = data.role if data.role is not None else user.role
    agency_id = data.agency_id if "agency_id" in sent else user.agency_id
    is_active = data.is_active if data.is_active is not None else user.is_active
    if user.id == actor.id and (role != UserRole.ADMIN or not is_active):
        raise AppError("user.self_lockout", status=409)
    if data.email is not None and repo.email_taken(
        session, email=data.email, except_user_id=user.id
    ):
        raise AppError("user.email_taken", status=409, email=data.email)
    if "role" in sent or "agency_id" in sent:
        _check_agency(session, role=role, agency_id=agency_id)

    changes: dict[str, Any] = {}
    for field, value in (
        ("email", data.email),
        ("full_name", data.full_name),
        ("phone", data.phone),
        ("role", data.role),
        ("agency_id", agency_id),
    ):
        if field in sent and getattr(user, field) != value:
            setattr(user, field, value)
            changes[field] = value.value if isinstance(value, UserRole) else value
    if "password" in sent:
        user.password_hash = passwords.hash_password(data.password) if data.password else None
        changes["password_set"] = data.password is not None
    if data.is_active is not None and data.is_active != user.is_active:
        if data.is_active:
            user.is_active = True
            changes["is_active"] = True
        else:
            _deactivate(session, user=user, now=now or utcnow())
            changes["is_active"] = False
    session.flush()
    session.refresh(user, attribute_names=["agency"])
    if changes:
        auth_repo.add_audit(
            session,
            actor=actor,
            action="user.update",
            entity="users",
            entity_id=user.id,
            detail=changes,
        )
    return user


def deactivate_user(
    session: Session, *, actor: User, user_id: int, now: datetime | None = None
) -> User:
    """The account stops working at once: sign-in, sessions, links and API tokens."""
    user = get_user(session, user_id=user_id)
    if user.id == actor.id:
        raise AppError("user.self_lockout", status=409)
    if user.is_active:
        _deactivate(session, user=user, now=now or utcnow())
        auth_repo.add_audit(
            session, actor=actor, action="user.deactivate", entity="users", entity_id=user.id
        )
    return user


def _deactivate(session: Session, *, user: User, now: datetime) -> None:
    user.is_active = False
    # Reactivating must not bring old credentials back to life.
    auth_repo.revoke_api_tokens(session, user_id=user.id, now=now)
    auth_repo.void_login_tokens(session, user_id=user.id, now=now)


def list_focal_points(
    session: Session,
    *,
    viewer: User,
    agency_id: int | None,
    plan_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[FocalPointRead], int]:
    rows, total = repo.list_focal_points(
        session,
        scope=focal_point_scope(viewer),
        agency_id=agency_id,
        plan_id=plan_id,
        limit=limit,
        offset=offset,
    )
    items = [
        FocalPointRead(
            id=row.id,
            full_name=row.full_name,
            email=row.email,
            phone=row.phone,
            agency_id=row.agency_id,
            agency_name=row.agency.name,
        )
        for row in rows
        if row.agency_id is not None and row.agency is not None
    ]
    return items, total
