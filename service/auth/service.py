"""Sign-in rules: one-time links, passwords, browser sessions and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.auth import passwords, sessions
from service.auth import repository as repo
from service.auth.tokens import hash_token, new_token
from service.config import Settings
from service.errors import AppError
from service.i18n import t
from service.models import ApiToken, User, utcnow

LOGIN_LINK_KIND = "login_link"


def login_link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/link/{token}"


def request_login_link(
    session: Session, *, email: str, settings: Settings, now: datetime | None = None
) -> None:
    """Queue a one-time sign-in link for an active account with this e-mail.

    Says nothing about whether the account exists: the caller answers the same either way.
    """
    now = now or utcnow()
    user = repo.user_by_email(session, email=email)
    if user is None or not user.is_active:
        return
    token = new_token()
    login_token = repo.add_login_token(
        session,
        user=user,
        token_hash=hash_token(token),
        expires_at=now + timedelta(minutes=settings.login_link_minutes),
    )
    link = login_link_url(settings, token)
    repo.add_notification(
        session,
        dedup_key=f"{LOGIN_LINK_KIND}:{login_token.id}",
        recipient_email=user.email,
        user_id=user.id,
        kind=LOGIN_LINK_KIND,
        subject=t("auth.link_subject"),
        body_text=t(
            "auth.link_body", name=user.full_name, link=link, minutes=settings.login_link_minutes
        ),
        next_attempt_at=now,
    )


def sign_in_with_link(session: Session, *, token: str, now: datetime | None = None) -> User:
    """The user a valid link belongs to; the link is used up. Unknown, used, expired: 400."""
    now = now or utcnow()
    user_id = repo.consume_login_token(session, token_hash=hash_token(token), now=now)
    user = repo.user_by_id(session, user_id=user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise AppError("auth.link_invalid", status=400)
    _signed_in(session, user=user, method="link", now=now)
    return user


def sign_in_with_password(
    session: Session, *, email: str, password: str, now: datetime | None = None
) -> User:
    """The user with this e-mail and password. Any mismatch is the same 401, in the same time."""
    now = now or utcnow()
    user = repo.user_by_email(session, email=email)
    password_hash = user.password_hash if user is not None and user.is_active else None
    if user is None or not passwords.verify_password(password_hash, password):
        raise AppError("auth.bad_credentials", status=401)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    _signed_in(session, user=user, method="password", now=now)
    return user


def _signed_in(session: Session, *, user: User, method: str, now: datetime) -> None:
    user.last_login_at = now
    repo.add_audit(
        session,
        actor=user,
        action="auth.sign_in",
        entity="users",
        entity_id=user.id,
        detail={"method": method},
    )


def session_cookie(settings: Settings, *, user: User, now: datetime | None = None) -> str:
    """The signed value of the session cookie for `user`, signed in `now`."""
    claims = sessions.SessionClaims(
        user_id=user.id,
        issued_at=now or utcnow(),
        password_fingerprint=sessions.password_fingerprint(settings, user.password_hash),
    )
    return sessions.encode(settings, claims)


def user_from_session_cookie(
    session: Session, cookie: str, *, settings: Settings, now: datetime | None = None
) -> User | None:
    """The user a signed session cookie names; None when absent, forged or expired.

    Also None when the password changed after the cookie was issued. Whether the user is still
    active is the caller's check.
    """
    claims = sessions.decode(settings, cookie, now=now or utcnow())
    if claims is None:
        return None
    user = repo.user_by_id(session, user_id=claims.user_id)
    if user is None:
        return None
    if claims.password_fingerprint != sessions.password_fingerprint(settings, user.password_hash):
        return None
    return user


def create_api_token(session: Session, *, user: User, name: str) -> str:
    """A new API token for `user`; the plain token is returned once and never stored."""
    token, _row = issue_api_token(session, user=user, name=name)
    return token


def issue_api_token(session: Session, *, user: User, name: str) -> tuple[str, ApiToken]:
    token = new_token()
    row = repo.add_api_token(session, user=user, name=name.strip(), token_hash=hash_token(token))
    repo.add_audit(
        session,
        actor=user,
        action="api_token.create",
        entity="api_tokens",
        entity_id=row.id,
        detail={"name": row.name},
    )
    return token, row


def list_api_tokens(
    session: Session, *, user: User, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    return repo.active_api_tokens(session, user_id=user.id, limit=limit, offset=offset)


def revoke_api_token(
    session: Session, *, user: User, token_id: int, now: datetime | None = None
) -> None:
    """Revoke one of the user's own tokens; anyone else's, or a revoked one, is not found."""
    row = repo.active_api_token(session, user_id=user.id, token_id=token_id)
    if row is None:
        raise AppError("auth.token_not_found", status=404)
    row.revoked_at = now or utcnow()
    repo.add_audit(
        session,
        actor=user,
        action="api_token.revoke",
        entity="api_tokens",
        entity_id=row.id,
        detail={"name": row.name},
    )
