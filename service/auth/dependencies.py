"""Who is calling: `CurrentUser` for any signed-in user, `require_roles(...)` to narrow it down.

A request is signed in by an API token (`Authorization: Bearer <token>`) or by the session cookie
set at sign-in (see service/auth/service.py). `CallerDep` is the same check in two halves, for
the busiest routes: what the request says (no database), then `caller.user(session)` inside the
route's one worker-thread call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.auth import repository as repo
from service.auth.service import user_from_session_cookie
from service.auth.sessions import SESSION_COOKIE
from service.auth.tokens import hash_token
from service.clock import ClockDep
from service.config import Settings, get_settings
from service.database import SessionDep
from service.errors import AppError
from service.models import User, UserRole

__all__ = [
    "SESSION_COOKIE",
    "CallerDep",
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


async def _app_settings(request: Request) -> Settings:
    # `async`: FastAPI runs a sync dependency in a worker thread, a hop for no I/O.
    return app_settings(request)


SettingsDep = Annotated[Settings, Depends(_app_settings)]


# `last_used_at` is refreshed at most this often: otherwise every read would also be a write,
# and on SQLite every request would queue for the single writer.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _user_from_api_token(session: Session, token: str, *, now: datetime) -> User | None:
    row = repo.user_by_api_token(session, token_hash=hash_token(token))
    if row is None:
        return None
    user, token_id, last_used_at = row
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        repo.touch_api_token(session, token_id=token_id, at=now)
    return user


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _cross_origin(request: Request, settings: Settings) -> bool:
    """Whether this is a write sent from another site's page (refused when cookie-signed).

    SameSite=Lax already keeps the cookie off cross-site POSTs; this also covers sibling
    subdomains, which count as the same site. A request without an Origin header (not sent by a
    browser page) is let through: it cannot carry the victim's cookie by accident.
    """
    origin = request.headers.get("origin")
    if origin is None or request.method in _SAFE_METHODS:
        return False
    allowed = {_origin(settings.public_url), _origin(str(request.base_url))}
    return origin.lower() not in allowed


@dataclass(frozen=True)
class Caller:
    """Who a request says it is (an API token or the session cookie), read from the request
    alone; `user()` checks it against the database.

    Split from `current_user` so a route can authenticate inside its one worker-thread call
    (`CallerDep`, with `service.database.in_transaction`) instead of in a thread hop of its own.
    """

    token: str | None
    cookie: str | None
    cross_origin: bool
    settings: Settings

    def user(self, session: Session, *, now: datetime) -> User:
        """The signed-in, active user; 401 otherwise (403 for a cross-site cookie write)."""
        user: User | None = None
        if self.token is not None:
            user = _user_from_api_token(session, self.token, now=now)
        elif self.cookie is not None:
            user = user_from_session_cookie(session, self.cookie, settings=self.settings, now=now)
            if user is not None and self.cross_origin:
                raise AppError("auth.bad_origin", status=403)
        if user is None or not user.is_active:
            raise AppError("auth.required", status=401)
        return user


def read_caller(request: Request, settings: Settings) -> Caller:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        return Caller(token.strip(), None, False, settings)
    cookie = request.cookies.get(SESSION_COOKIE)
    cross_origin = cookie is not None and _cross_origin(request, settings)
    return Caller(None, cookie, cross_origin, settings)


async def caller(request: Request) -> Caller:
    """FastAPI dependency: the request's `Caller`; 401 at once when it names nobody.

    Only the request as a parameter: every dependency FastAPI resolves costs the request time.
    """
    found = read_caller(request, app_settings(request))
    if found.token is None and found.cookie is None:
        raise AppError("auth.required", status=401)
    return found


CallerDep = Annotated[Caller, Depends(caller)]


def current_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User:
    return read_caller(request, settings).user(session, now=clock())


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: UserRole) -> Callable[[User], Awaitable[User]]:
    # `async`: no I/O, so no worker thread.
    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise AppError("auth.forbidden", status=403)
        return user

    return check


WriterUser = Annotated[
    User, Depends(require_roles(UserRole.ADMIN, UserRole.LEAD_OFFICE, UserRole.FOCAL_POINT))
]
LeadUser = Annotated[User, Depends(require_roles(UserRole.ADMIN, UserRole.LEAD_OFFICE))]
AdminUser = Annotated[User, Depends(require_roles(UserRole.ADMIN))]
