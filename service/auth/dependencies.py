"""Who is calling: `CurrentUser` for any signed-in user, `require_roles(...)` to narrow it down.

A request is signed in by an API token (`Authorization: Bearer <token>`) or by the session cookie
set at sign-in (see service/auth/service.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import select

from service.auth.service import user_from_session_cookie
from service.auth.sessions import SESSION_COOKIE
from service.auth.tokens import hash_token
from service.clock import ClockDep
from service.config import Settings, get_settings
from service.database import SessionDep
from service.errors import AppError
from service.models import ApiToken, User, UserRole

__all__ = [
    "SESSION_COOKIE",
    "AdminUser",
    "CurrentUser",
    "LeadUser",
    "WriterUser",
    "current_user",
    "require_roles",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_settings(request: Request) -> Settings:
    """The settings of the app serving this request (tests run apps with their own)."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


SettingsDep = Annotated[Settings, Depends(app_settings)]


# `last_used_at` is refreshed at most this often: otherwise every read would also be a write,
# and on SQLite every request would queue for the single writer.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _user_from_api_token(session: SessionDep, token: str, *, now: datetime) -> User | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return user


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_same_origin(request: Request, settings: Settings) -> None:
    """Refuse a cookie-signed write sent from another site's page.

    SameSite=Lax already keeps the cookie off cross-site POSTs; this also covers sibling
    subdomains, which count as the same site. A request without an Origin header (not sent by a
    browser page) is let through: it cannot carry the victim's cookie by accident.
    """
    origin = request.headers.get("origin")
    if origin is None or request.method in _SAFE_METHODS:
        return
    allowed = {_origin(settings.public_url), _origin(str(request.base_url))}
    if origin.lower() not in allowed:
        raise AppError("auth.bad_origin", status=403)


def current_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User:
    user: User | None = None
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        user = _user_from_api_token(session, token.strip(), now=clock())
    elif SESSION_COOKIE in request.cookies:
        user = user_from_session_cookie(
            session, request.cookies[SESSION_COOKIE], settings=settings, now=clock()
        )
        if user is not None:
            _check_same_origin(request, settings)
    if user is None or not user.is_active:
        raise AppError("auth.required", status=401)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: UserRole) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise AppError("auth.forbidden", status=403)
        return user

    return check


WriterUser = Annotated[
    User, Depends(require_roles(UserRole.ADMIN, UserRole.LEAD_OFFICE, UserRole.FOCAL_POINT))
]
LeadUser = Annotated[User, Depends(require_roles(UserRole.ADMIN, UserRole.LEAD_OFFICE))]
AdminUser = Annotated[User, Depends(require_roles(UserRole.ADMIN))]
