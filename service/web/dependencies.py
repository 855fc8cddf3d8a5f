"""Who is looking at a page, and what a page shows when something goes wrong.

Pages use the API's own sign-in check (`service.auth.dependencies.current_user`: the session
cookie, the Origin check on writes); a page without a signed-in user redirects to the sign-in
form instead of answering 401. `PageRoute` turns the service's errors into pages: another
agency's task is the same 404 page as a task that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from service.auth.dependencies import SettingsDep, current_user
from service.clock import ClockDep
from service.database import SessionDep
from service.errors import AppError
from service.i18n import t
from service.models import User, UserRole
from service.web.forms import SignInRequired, WebError
from service.web.rendering import nav_items, render


def _remember(request: Request, user: User) -> None:
    # The error page is drawn after the transaction ended: keep what the menu needs.
    request.state.web_nav = nav_items(user)
    request.state.web_user_name = user.full_name


def optional_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User | None:
    try:
        user = current_user(request, session, settings, clock)
    except AppError as error:
        if error.status == 401:
            return None
        raise
    _remember(request, user)
    return user


def page_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise SignInRequired()
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
PageUser = Annotated[User, Depends(page_user)]


def require_roles(*roles: UserRole) -> Callable[[User], User]:
    def check(user: PageUser) -> User:
        if user.role not in roles:
            raise WebError(403, "web.error.forbidden")
        return user

    return check


AdminPageUser = Annotated[User, Depends(require_roles(UserRole.ADMIN))]


def error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "nav": getattr(request.state, "web_nav", []),
            "user_name": getattr(request.state, "web_user_name", None),
        },
        status_code=status,
    )


class PageRoute(APIRoute):
    """A page route: errors become pages, a missing sign-in a redirect to the sign-in form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                # The sign-in form, right at the address asked for (401, no redirect): after
                # signing in, the person lands on the page they wanted.
                target = request.url.path
                if request.url.query:
                    target += f"?{request.url.query}"
                return render(
                    request,
                    "sign_in.html",
                    {"next": target if request.method == "GET" else "/", "errors": {}},
                    status_code=401,
                )
            except WebError as error:
                return error_page(request, error.status, error.message)
            except AppError as error:
                return error_page(request, error.status, error.message)
            except RequestValidationError as error:
                # A malformed id in the path names no page; a malformed filter is a bad request.
                in_path = any(item.get("loc", ("",))[0] == "path" for item in error.errors())
                if in_path:
                    return error_page(request, 404, t("web.error.not_found"))
                return error_page(request, 422, t("web.error.bad_request"))

        return page
