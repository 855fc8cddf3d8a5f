"""Who is calling: `CurrentUser` for any signed-in user, `require_roles(...)` to narrow it down.

A request is signed in by an API token (`Authorization: Bearer <token>`) or by the session cookie
set at sign-in (see service/auth/service.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from service.auth.tokens import hash_token
from service.database import SessionDep
from service.errors import AppError
from service.models import ApiToken, User, UserRole, utcnow

SESSION_COOKIE = "dondoc_session"


def _user_from_api_token(session: SessionDep, token: str) -> User | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    api_token.last_used_at = utcnow()
    return user


def current_user(request: Request, session: SessionDep) -> User:
    user: User | None = None
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        user = _user_from_api_token(session, token.strip())
    elif SESSION_COOKIE in request.cookies:
        from service.auth.service import user_from_session_cookie

        user = user_from_session_cookie(session, request.cookies[SESSION_COOKIE])
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
