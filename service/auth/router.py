"""HTTP routes of the auth domain: sign-in, sign-out, who am I, the caller's API tokens.

`router` is mounted under /api. The link people click in e-mails, `GET /auth/link/{token}`, is a
page (service/web/router.py): it signs in with `auth_service.sign_in_with_link` like
`POST /api/auth/link/verify`, and a refused link is a page for a browser, JSON for an API client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth import service as auth_service
from service.auth.dependencies import CurrentUser, SettingsDep
from service.auth.ratelimit import RateLimiter
from service.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    LinkRequest,
    LinkVerify,
    LoginRequest,
    MessageRead,
)
from service.auth.sessions import SESSION_COOKIE
from service.clock import Clock, ClockDep
from service.config import Settings
from service.database import SessionDep
from service.errors import AppError
from service.i18n import t
from service.models import User
from service.pagination import Page, PageDep
from service.users import service as user_service
from service.users.schemas import UserRead

router = APIRouter(tags=["auth"])


def rate_limiter(request: Request, settings: Settings) -> RateLimiter:
    """The app's limiter for sign-in attempts, made on first use."""
    limiter = getattr(request.app.state, "auth_rate_limiter", None)
    if not isinstance(limiter, RateLimiter):
        limiter = RateLimiter(
            attempts=settings.auth_rate_limit_attempts,
            window_seconds=settings.auth_rate_limit_minutes * 60,
        )
        request.app.state.auth_rate_limiter = limiter
    return limiter


def _limit_key(request: Request, kind: str, email: str) -> str:
    address = request.client.host if request.client else "?"
    return f"{kind}:{email.strip().lower()}:{address}"


def _refuse_if_limited(limiter: RateLimiter, key: str) -> None:
    retry_after = limiter.retry_after(key)
    if retry_after:
        raise StarletteHTTPException(429, headers={"Retry-After": str(retry_after)})


def _set_session_cookie(response: Response, settings: Settings, user: User, clock: Clock) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        auth_service.session_cookie(settings, user=user, now=clock()),
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


@router.post(
    "/auth/link",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Gửi liên kết đăng nhập dùng một lần qua e-mail",
)
def request_link(
    body: LinkRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> MessageRead:
    limiter = rate_limiter(request, settings)
    key = _limit_key(request, "link", body.email)
    _refuse_if_limited(limiter, key)
    # Every request counts, found or not: each one may send an e-mail.
    limiter.hit(key)
    auth_service.request_login_link(session, email=body.email, settings=settings, now=clock())
    return MessageRead(message=t("auth.link_sent"))


@router.post("/auth/link/verify", summary="Đăng nhập bằng liên kết (dạng API)")
def verify_link(
    body: LinkVerify,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> UserRead:
    user = auth_service.sign_in_with_link(session, token=body.token, now=clock())
    _set_session_cookie(response, settings, user, clock)
    return user_service.to_read(user)


@router.post("/auth/login", summary="Đăng nhập bằng e-mail và mật khẩu")
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> UserRead:
    limiter = rate_limiter(request, settings)
    key = _limit_key(request, "login", body.email)
    _refuse_if_limited(limiter, key)
    try:
        user = auth_service.sign_in_with_password(session, email=body.email, password=body.password)
    except AppError:
        limiter.hit(key)
        raise
    limiter.reset(key)
    _set_session_cookie(response, settings, user, clock)
    return user_service.to_read(user)


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Đăng xuất khỏi trình duyệt"
)
def logout(settings: SettingsDep) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
    return response


@router.get("/auth/me", summary="Người dùng đang đăng nhập")
def me(user: CurrentUser) -> UserRead:
    return user_service.to_read(user)


@router.post(
    "/auth/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Tạo mã API (chỉ hiển thị một lần)",
)
def create_token(body: ApiTokenCreate, user: CurrentUser, session: SessionDep) -> ApiTokenCreated:
    token, row = auth_service.issue_api_token(session, user=user, name=body.name)
    return ApiTokenCreated(
        id=row.id, name=row.name, created_at=row.created_at, last_used_at=None, token=token
    )


@router.get("/auth/tokens", summary="Các mã API còn hiệu lực của tôi")
def list_tokens(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[ApiTokenRead]:
    rows, total = auth_service.list_api_tokens(
        session, user=user, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ApiTokenRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.delete(
    "/auth/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Thu hồi một mã API của tôi",
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    auth_service.revoke_api_token(session, user=user, token_id=token_id, now=clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
