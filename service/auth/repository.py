"""SQL of the auth domain: users, sign-in links, API tokens, the outbox and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from service.models import ApiToken, AuditLog, LoginToken, Notification, User


def user_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def user_by_id(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def add_login_token(
    session: Session, *, user: User, token_hash: str, expires_at: datetime
) -> LoginToken:
    row = LoginToken(user_id=user.id, token_hash=token_hash, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def consume_login_token(session: Session, *, token_hash: str, now: datetime) -> int | None:
    """Mark an unused, unexpired link used and return its user id; None when there is none.

    One conditional UPDATE: of two requests racing with the same link, exactly one wins.
    """
    result = session.execute(
        update(LoginToken)
        .where(
            LoginToken.token_hash == token_hash,
            LoginToken.used_at.is_(None),
            LoginToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.scalar(select(LoginToken.user_id).where(LoginToken.token_hash == token_hash))


def void_login_tokens(session: Session, *, user_id: int, now: datetime) -> None:
    """Every link of this user still unused becomes used (e.g. the account was deactivated)."""
    session.execute(
        update(LoginToken)
        .where(LoginToken.user_id == user_id, LoginToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def add_notification(session: Session, **fields: Any) -> Notification:
    row = Notification(**fields)
    session.add(row)
    session.flush()
    return row


def add_api_token(session: Session, *, user: User, name: str, token_hash: str) -> ApiToken:
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash)
    session.add(row)
    session.flush()
    return row


# Built once: every API request runs it, and a prebuilt statement skips building the query and
# computing its cache key each time.
_USER_BY_API_TOKEN = (
    select(User, ApiToken.id.label("token_id"), ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)
_TOUCH_API_TOKEN = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("used_at"))
    .execution_options(synchronize_session=False)
)


def user_by_api_token(
    session: Session, *, token_hash: str
) -> Row[User, int, datetime | None] | None:
    """(user, token id, token last used at) of an unrevoked token."""
    return session.execute(_USER_BY_API_TOKEN, {"token_hash": token_hash}).first()


def touch_api_token(session: Session, *, token_id: int, at: datetime) -> None:
    session.execute(_TOUCH_API_TOKEN, {"token_id": token_id, "used_at": at})


def active_api_tokens(
    session: Session, *, user_id: int, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    condition = (ApiToken.user_id == user_id) & ApiToken.revoked_at.is_(None)
    total = session.scalar(select(func.count()).select_from(ApiToken).where(condition)) or 0
    rows = session.scalars(
        select(ApiToken)
        .where(condition)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def active_api_token(session: Session, *, user_id: int, token_id: int) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
        )
    )


def revoke_api_tokens(session: Session, *, user_id: int, now: datetime) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def add_audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            actor_user_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail or {},
        )
    )
    session.flush()
