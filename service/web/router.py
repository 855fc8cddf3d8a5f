"""The pages: sign-in, a focal point's tasks and reports; the lead office's and the
administrator's pages are in `plans_pages` and `admin_pages`, included here.

Each page parses its input, calls the same service function the API router calls, and renders
a template. Writes are HTML forms (POST, CSRF token, redirect after success); a refused form is
shown again with the errors next to its fields. With htmx loaded, a task's update form swaps
only that task's card.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from service.auth import service as auth_service
from service.auth.dependencies import SettingsDep
from service.auth.router import _limit_key, _set_session_cookie, rate_limiter
from service.auth.schemas import LinkRequest, LoginRequest
from service.auth.scope import can_write, leads_plan
from service.auth.sessions import SESSION_COOKIE
from service.clock import ClockDep, today_local
from service.database import SessionDep
from service.errors import AppError, error_body
from service.i18n import t
from service.models import ObligationStatus, PlanStatus, TaskState, User, UserRole
from service.pagination import PageParams
from service.plans import service as plan_service
from service.tasks import service as task_service
from service.tasks.schemas import (
    MAX_ID,
    ObligationFilters,
    ReportAccept,
    ReportReturn,
    ReportSubmit,
    StatusUpdateCreate,
    TaskFilters,
    TaskRead,
)
from service.tasks.timeliness import Timeliness
from service.web import views
from service.web.dependencies import OptionalUser, PageRoute, PageUser
from service.web.forms import (
    FORM,
    FormDep,
    FormErrors,
    InvalidForm,
    attempt,
    safe_next,
    see_other,
    validate,
)
from service.web.rendering import STATIC_DIR, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
# Most urgent first; a phone shows a page of 25 cards without a long wait or scroll.
TASKS_PER_PAGE = 25
HISTORY_PER_PAGE = 50


def home_of(user: User) -> str:
    if user.role == UserRole.FOCAL_POINT:
        return "/tasks"
    return "/plans"


@router.get("/")
def home(user: PageUser) -> Response:
    return RedirectResponse(home_of(user), status_code=303)


# Two files, served by explicit routes rather than a mounted directory: every route of the app
# stays visible to the authorization walk (tests/test_authorization_walk.py), and nothing else
# under the folder can ever be served.
_STATIC_MAX_AGE = "public, max-age=3600"


@router.get("/static/app.css")
def stylesheet() -> Response:
    return FileResponse(
        STATIC_DIR / "app.css", media_type="text/css", headers={"cache-control": _STATIC_MAX_AGE}
    )


@router.get("/static/htmx.min.js")
def htmx_script() -> Response:
    return FileResponse(
        STATIC_DIR / "htmx.min.js",
        media_type="text/javascript",
        headers={"cache-control": _STATIC_MAX_AGE},
    )


# --- Sign-in ------------------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(
    request: Request, user: OptionalUser, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next, home_of(user)), status_code=303)
    return render(request, "sign_in.html", {"next": safe_next(next, ""), "errors": FormErrors()})


@router.post("/sign-in/link")
def request_link(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    email = form.get("email")
    context: dict[str, Any] = {"next": safe_next(form.get("next"), ""), "email": email}
    data, errors = attempt(session, lambda: validate(LinkRequest, {"email": email}))
    if data is None:
        errors["email"] = errors.get("email") or errors.general or ""
        return render(request, "sign_in.html", {**context, "errors": errors}, status_code=422)
    limiter = rate_limiter(request, settings)
    # The same bucket as the API's, so the two doors share one limit.
    key = _limit_key(request, "link", data.email)
    if limiter.retry_after(key):
        errors = FormErrors({FORM: t("web.sign_in.too_many")})
        return render(request, "sign_in.html", {**context, "errors": errors}, status_code=429)
    limiter.hit(key)
    auth_service.request_login_link(session, email=data.email, settings=settings, now=clock())
    return render(request, "sign_in.html", {**context, "errors": FormErrors(), "link_sent": True})


@router.post("/sign-in/password")
def sign_in_password(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    email = form.get("email")
    context: dict[str, Any] = {"next": safe_next(form.get("next"), ""), "email": email}
    limiter = rate_limiter(request, settings)
    key = _limit_key(request, "login", email)
    if limiter.retry_after(key):
        errors = FormErrors({FORM: t("web.sign_in.too_many")})
        return render(request, "sign_in.html", {**context, "errors": errors}, status_code=429)

    try:
        data = validate(LoginRequest, {"email": email, "password": form.get("password")})
        user = auth_service.sign_in_with_password(
            session, email=data.email, password=data.password, now=clock()
        )
    except (AppError, InvalidForm):
        session.rollback()
        limiter.hit(key)
        errors = FormErrors({FORM: t("auth.bad_credentials")})
        context.update(errors=errors, password_form=True)
        return render(request, "sign_in.html", context, status_code=401)
    limiter.reset(key)
    response = RedirectResponse(safe_next(form.get("next"), home_of(user)), status_code=303)
    _set_session_cookie(response, settings, user, clock)
    return response


@router.get("/auth/link/{token}")
def open_link(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """The link of the sign-in e-mail: signs in, then `/` sends each role to its home page.

    A link that is unknown, used or expired answers 400: a browser gets the sign-in page saying
    so, with the form for a new link; anything else (an API client, `Accept: application/json`
    or no preference) gets the auth domain's JSON error, as `POST /api/auth/link/verify` does.
    """
    try:
        user = auth_service.sign_in_with_link(session, token=token, now=clock())
    except AppError as error:
        # Nothing of a refused link is kept (an inactive user's link stays as it was).
        session.rollback()
        if not _prefers_html(request):
            return JSONResponse(
                error_body(error.code, error.message, error.details), status_code=error.status
            )
        context = {"next": "", "errors": FormErrors(), "link_invalid": True}
        return render(request, "sign_in.html", context, status_code=error.status)
    response = RedirectResponse("/", status_code=303)
    _set_session_cookie(response, settings, user, clock)
    return response


def _prefers_html(request: Request) -> bool:
    """Does the client rank a page above JSON? A browser's Accept names text/html (and JSON at
    most through */*); an API client's names application/json, or only */*: a tie is JSON."""
    html = json = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media in ("text/html", "text/*"):
            html = max(html, quality)
        elif media == "application/json":
            json = max(json, quality)
    return html > json


@router.post("/sign-out")
def sign_out(form: FormDep, settings: SettingsDep) -> Response:
    response = see_other("/sign-in", notice="signed_out")
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
    return response


# --- My tasks -----------------------------------------------------------------------------------


@router.get("/tasks")
def my_tasks(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    timeliness: Timeliness | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    filters = TaskFilters(mine=True, timeliness=timeliness)
    result = task_service.list_tasks(
        session,
        user=user,
        filters=filters,
        page=PageParams(limit=TASKS_PER_PAGE, offset=(page - 1) * TASKS_PER_PAGE),
        clock=clock,
        settings=settings,
    )
    today = today_local(clock)
    days = views.working_days_left(
        session, today=today, days=(task.due_on for task in result.items)
    )
    return render(
        request,
        "tasks.html",
        {
            "groups": views.group_by_plan(result.items, days),
            "total": result.total,
            "page": page,
            "pages": max(1, -(-result.total // TASKS_PER_PAGE)),
            "timeliness": timeliness.value if timeliness else "",
            "timeliness_options": views.TIMELINESS_ORDER,
            "today": today,
            "states": list(TaskState),
            "can_write": can_write(user),
            "has_agency": user.agency_id is not None,
            "errors": FormErrors(),
            "values": {},
            "conflict": None,
            "open_form": False,
            "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        },
        user=user,
    )


@router.get("/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: PathId,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _task_page(request, session, user=user, task_id=task_id, clock=clock, settings=settings)


def _task_page(
    request: Request,
    session: Any,
    *,
    user: User,
    task_id: int,
    clock: Any,
    settings: Any,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    conflict: TaskRead | None = None,
    status_code: int = 200,
) -> Response:
    task = conflict or task_service.get_task(
        session, user=user, task_id=task_id, clock=clock, settings=settings
    )
    history = task_service.list_updates(
        session,
        user=user,
        task_id=task_id,
        page=PageParams(limit=HISTORY_PER_PAGE, offset=0),
        clock=clock,
        settings=settings,
    )
    days = views.working_days_left(session, today=today_local(clock), days=[task.due_on])
    return render(
        request,
        "task.html",
        {
            "item": views.task_item(task, days),
            "history": history,
            "states": list(TaskState),
            "can_write": can_write(user),
            "errors": errors or FormErrors(),
            "values": values or {},
            "conflict": conflict,
            "return_to": f"/tasks/{task_id}",
            "open_form": True,
        },
        user=user,
        status_code=status_code,
    )


@router.post("/tasks/{task_id}/update")
def update_task(
    request: Request,
    task_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {
        name: form.get(name)
        for name in ("version", "state", "progress", "narrative", "blocked_reason")
    }
    fields = {name: value for name, value in values.items() if value != ""}
    return_to = safe_next(form.get("return_to"), "/tasks")

    def save() -> Any:
        data = validate(StatusUpdateCreate, fields)
        return task_service.update_status(
            session,
            user=user,
            task_id=task_id,
            data=data,
            files=form.files,
            clock=clock,
            settings=settings,
        )

    updated, errors = attempt(session, save)
    htmx = request.headers.get("hx-request") == "true"
    if updated is not None:
        if htmx:
            return _card(
                request,
                session,
                user=user,
                task=updated.task,
                clock=clock,
                return_to=return_to,
                saved=True,
            )
        return see_other(return_to, notice="task_saved", anchor=f"task-{task_id}")

    conflict = (
        TaskRead.model_validate(errors.details["task"])
        if errors.code == "task.conflict" and errors.details
        else None
    )
    status_code = errors.status
    if conflict is not None:
        # Re-apply: the same values, against the version now current.
        values["version"] = str(conflict.version)
    if htmx:
        task = conflict or task_service.get_task(
            session, user=user, task_id=task_id, clock=clock, settings=settings
        )
        return _card(
            request,
            session,
            user=user,
            task=task,
            clock=clock,
            return_to=return_to,
            errors=errors,
            values=values,
            conflict=conflict,
            status_code=status_code,
        )
    return _task_page(
        request,
        session,
        user=user,
        task_id=task_id,
        clock=clock,
        settings=settings,
        errors=errors,
        values=values,
        conflict=conflict,
        status_code=status_code,
    )


def _card(
    request: Request,
    session: Any,
    *,
    user: User,
    task: TaskRead,
    clock: Any,
    return_to: str,
    saved: bool = False,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    conflict: TaskRead | None = None,
    status_code: int = 200,
) -> Response:
    days = views.working_days_left(session, today=today_local(clock), days=[task.due_on])
    return render(
        request,
        "_task_card_response.html",
        {
            "item": views.task_item(task, days),
            "states": list(TaskState),
            "can_write": can_write(user),
            "errors": errors or FormErrors(),
            "values": values or {},
            "conflict": conflict,
            "saved": saved,
            "return_to": return_to,
            "open_form": bool(errors),
        },
        user=user,
        status_code=status_code,
    )


# --- Periodic reports ---------------------------------------------------------------------------

_TO_SEND = (ObligationStatus.PENDING, ObligationStatus.RETURNED)


@router.get("/reports")
def my_reports(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    result = task_service.list_obligations(
        session,
        user=user,
        filters=ObligationFilters(mine=True),
        page=PageParams(limit=200, offset=0),
        clock=clock,
    )
    to_send = [item for item in result.items if item.status in _TO_SEND]
    sent = [item for item in result.items if item.status not in _TO_SEND]
    return render(
        request,
        "reports.html",
        {
            "to_send": to_send,
            "sent": sent,
            "total": result.total,
            "has_agency": user.agency_id is not None,
        },
        user=user,
    )


@router.get("/reports/{obligation_id}")
def report_page(
    request: Request,
    obligation_id: PathId,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _report_page(
        request, session, user=user, obligation_id=obligation_id, clock=clock, settings=settings
    )


def _report_page(
    request: Request,
    session: Any,
    *,
    user: User,
    obligation_id: int,
    clock: Any,
    settings: Any,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    report = task_service.get_obligation(
        session, user=user, obligation_id=obligation_id, clock=clock, settings=settings
    )
    plan = plan_service.get_plan(session, plan_id=report.plan_id, user=user)
    active = plan.status == PlanStatus.ACTIVE
    own = user.role == UserRole.ADMIN or user.agency_id == report.agency_id
    return render(
        request,
        "report.html",
        {
            "report": report,
            "can_submit": active and can_write(user) and own and report.status in _TO_SEND,
            "can_review": active
            and can_write(user)
            and leads_plan(user, plan)
            and report.status == ObligationStatus.SUBMITTED,
            "leads": leads_plan(user, plan),
            "errors": errors or FormErrors(),
            "values": values or {},
            "timeliness_order": views.TIMELINESS_ORDER,
            "tones": views.TONES,
        },
        user=user,
        status_code=status_code,
    )


@router.post("/reports/{obligation_id}/submit")
def submit_report(
    request: Request,
    obligation_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"version": form.get("version"), "narrative": form.get("narrative")}

    def submit() -> Any:
        return task_service.submit_report(
            session,
            user=user,
            obligation_id=obligation_id,
            data=validate(ReportSubmit, values),
            files=form.files,
            clock=clock,
            settings=settings,
        )

    done, errors = attempt(session, submit)
    if done is not None:
        return see_other(f"/reports/{obligation_id}", notice="report_submitted")
    return _report_page(
        request,
        session,
        user=user,
        obligation_id=obligation_id,
        clock=clock,
        settings=settings,
        errors=errors,
        values=values,
        status_code=errors.status,
    )


@router.post("/reports/{obligation_id}/review")
def review_report(
    request: Request,
    obligation_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    decision = form.get("decision")
    values = {"version": form.get("version"), "comment": form.get("comment")}

    def review() -> Any:
        if decision == "accept":
            return task_service.accept_report(
                session,
                user=user,
                obligation_id=obligation_id,
                data=validate(ReportAccept, {"version": values["version"]}),
                clock=clock,
                settings=settings,
            )
        return task_service.return_report(
            session,
            user=user,
            obligation_id=obligation_id,
            data=validate(ReportReturn, values),
            clock=clock,
            settings=settings,
        )

    done, errors = attempt(session, review)
    if done is not None:
        notice = "report_accepted" if decision == "accept" else "report_returned"
        return see_other(
            safe_next(form.get("return_to"), f"/reports/{obligation_id}"), notice=notice
        )
    return _report_page(
        request,
        session,
        user=user,
        obligation_id=obligation_id,
        clock=clock,
        settings=settings,
        errors=errors,
        values=values,
        status_code=errors.status,
    )


from service.web import admin_pages, plans_pages  # noqa: E402  (they add routes to `router`)

router.include_router(plans_pages.router)
router.include_router(admin_pages.router)
