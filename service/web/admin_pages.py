"""The administrator's pages: the agency registry, accounts and focal points, days off and the
deployment's reminder policy, the e-mail outbox with retry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from notifications import service as notification_service
from notifications.policy import format_ladder, policy_from_settings
from notifications.schemas import HolidayCreate, OutboxRetry, PauseUpdate
from service.agencies import service as agency_service
from service.agencies.schemas import AgencyCreate, AgencyUpdate
from service.auth.dependencies import SettingsDep
from service.clock import ClockDep, today_local
from service.database import SessionDep
from service.models import AgencyKind, AgencyLevel, NotificationStatus, User, UserRole
from service.pagination import PageParams
from service.tasks.schemas import MAX_ID
from service.users import service as user_service
from service.users.schemas import UserCreate, UserUpdate
from service.web import repository as web_repository
from service.web.dependencies import AdminPageUser, PageRoute
from service.web.forms import (
    FormDep,
    FormErrors,
    attempt,
    optional,
    parse_day,
    see_other,
    validate,
)
from service.web.rendering import render
from service.web.repository import AgencyOption
from service.web.views import fold_text

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PER_PAGE = 50


def _all_agencies(session: Any, *, concrete_only: bool = False) -> list[AgencyOption]:
    """Agencies for a select, by name; `concrete_only`: active ones that are not groups (the
    agencies an account can belong to)."""
    options = web_repository.agency_options(session, concrete_only=concrete_only)
    return sorted(options, key=lambda agency: fold_text(agency.name))


# --- Agencies -----------------------------------------------------------------------------------


@router.get("/agencies")
def agencies(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _agencies_page(request, session, user=user, q=q, page=page)


def _agencies_page(
    request: Request,
    session: Any,
    *,
    user: User,
    q: str | None = None,
    page: int = 1,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    result = agency_service.list_agencies(
        session, page=PageParams(limit=PER_PAGE, offset=(page - 1) * PER_PAGE), q=q
    )
    return render(
        request,
        "admin_agencies.html",
        {
            "agencies": result.items,
            "total": result.total,
            "page": page,
            "pages": max(1, -(-result.total // PER_PAGE)),
            "q": q or "",
            "levels": list(AgencyLevel),
            "kinds": list(AgencyKind),
            "errors": errors or FormErrors(),
            "values": values or {},
        },
        user=user,
        status_code=status_code,
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.post("/agencies")
def create_agency(
    request: Request, user: AdminPageUser, form: FormDep, session: SessionDep
) -> Response:
    values = optional(form, "name", "short_name", "level", "kind", "head_email", "aliases")

    def run() -> Any:
        data = validate(
            AgencyCreate,
            {
                **values,
                "is_group": form.checked("is_group"),
                "aliases": _lines(values.get("aliases", "")),
            },
        )
        return agency_service.create_agency(session, data=data, actor=user)

    agency, errors = attempt(session, run)
    if agency is not None:
        return see_other(f"/admin/agencies/{agency.id}", notice="agency_saved")
    return _agencies_page(
        request, session, user=user, errors=errors, values=values, status_code=errors.status
    )


@router.get("/agencies/{agency_id}")
def agency_page(
    request: Request, agency_id: PathId, user: AdminPageUser, session: SessionDep
) -> Response:
    return _agency_page(request, session, user=user, agency_id=agency_id)


def _agency_page(
    request: Request,
    session: Any,
    *,
    user: User,
    agency_id: int,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    agency = agency_service.to_read(agency_service.get_agency(session, agency_id=agency_id))
    return render(
        request,
        "admin_agency.html",
        {
            "agency": agency,
            "all_agencies": _all_agencies(session),
            "levels": list(AgencyLevel),
            "kinds": list(AgencyKind),
            "errors": errors or FormErrors(),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/agencies/{agency_id}")
def update_agency(
    request: Request, agency_id: PathId, user: AdminPageUser, form: FormDep, session: SessionDep
) -> Response:
    def run() -> Any:
        data = validate(
            AgencyUpdate,
            {
                "name": form.get("name"),
                "short_name": form.get("short_name") or None,
                "level": form.get("level"),
                "kind": form.get("kind"),
                "head_email": form.get("head_email") or None,
                "is_group": form.checked("is_group"),
                "is_active": form.checked("is_active"),
                "aliases": _lines(form.get("aliases")),
            },
        )
        agency = agency_service.update_agency(session, agency_id=agency_id, data=data, actor=user)
        if agency.is_group:
            members = [int(value) for value in form.all("member_ids") if value.isdigit()]
            agency = agency_service.set_members(
                session, group_id=agency_id, member_ids=members, actor=user
            )
        return agency

    agency, errors = attempt(session, run)
    if agency is not None:
        return see_other(f"/admin/agencies/{agency_id}", notice="agency_saved")
    return _agency_page(
        request, session, user=user, agency_id=agency_id, errors=errors, status_code=errors.status
    )


# --- Users and focal points ---------------------------------------------------------------------


@router.get("/users")
def users(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: UserRole | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _users_page(request, session, user=user, q=q, role=role, page=page)


def _users_page(
    request: Request,
    session: Any,
    *,
    user: User,
    q: str | None = None,
    role: UserRole | None = None,
    page: int = 1,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows, total = user_service.list_users(
        session, q=q, role=role, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    return render(
        request,
        "admin_users.html",
        {
            "users": [user_service.to_read(row) for row in rows],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "q": q or "",
            "role_filter": role.value if role else "",
            "roles": list(UserRole),
            "agencies": _all_agencies(session, concrete_only=True),
            "errors": errors or FormErrors(),
            "values": values or {},
        },
        user=user,
        status_code=status_code,
    )


@router.post("/users")
def create_user(
    request: Request, user: AdminPageUser, form: FormDep, session: SessionDep
) -> Response:
    values = optional(form, "email", "full_name", "phone", "role", "agency_id")

    def run() -> Any:
        data = validate(UserCreate, {**values, **optional(form, "password")})
        return user_service.create_user(session, actor=user, data=data)

    created, errors = attempt(session, run)
    if created is not None:
        return see_other(f"/admin/users/{created.id}", notice="user_saved")
    return _users_page(
        request, session, user=user, errors=errors, values=values, status_code=errors.status
    )


@router.get("/users/{user_id}")
def user_page(
    request: Request, user_id: PathId, user: AdminPageUser, session: SessionDep
) -> Response:
    return _user_page(request, session, user=user, user_id=user_id)


def _user_page(
    request: Request,
    session: Any,
    *,
    user: User,
    user_id: int,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    account = user_service.get_user(session, user_id=user_id)
    return render(
        request,
        "admin_user.html",
        {
            "account": user_service.to_read(account),
            "paused_until": account.reminders_paused_until,
            "roles": list(UserRole),
            "agencies": _all_agencies(session),
            "errors": errors or FormErrors(),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/users/{user_id}")
def update_user(
    request: Request,
    user_id: PathId,
    user: AdminPageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    def run() -> Any:
        fields: dict[str, Any] = {
            "email": form.get("email"),
            "full_name": form.get("full_name"),
            "phone": form.get("phone") or None,
            "role": form.get("role"),
            "is_active": form.checked("is_active"),
        }
        if form.get("agency_id"):
            fields["agency_id"] = form.get("agency_id")
        if form.get("password"):
            fields["password"] = form.get("password")
        data = validate(UserUpdate, fields)
        return user_service.update_user(
            session, actor=user, user_id=user_id, data=data, now=clock()
        )

    done, errors = attempt(session, run)
    if done is not None:
        return see_other(f"/admin/users/{user_id}", notice="user_saved")
    return _user_page(
        request, session, user=user, user_id=user_id, errors=errors, status_code=errors.status
    )


@router.post("/users/{user_id}/pause")
def pause_user(
    request: Request,
    user_id: PathId,
    user: AdminPageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    def run() -> Any:
        until = parse_day(form.get("until"), name="until")
        return notification_service.pause(
            session, actor=user, user_id=user_id, data=PauseUpdate(until=until), now=clock()
        )

    done, errors = attempt(session, run)
    if done is not None:
        return see_other(f"/admin/users/{user_id}", notice="pause_saved")
    return _user_page(
        request, session, user=user, user_id=user_id, errors=errors, status_code=errors.status
    )


# --- Days off and the reminder policy -----------------------------------------------------------


@router.get("/holidays")
def holidays(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    return _holidays_page(
        request, session, user=user, year=year or today_local(clock).year, settings=settings
    )


def _holidays_page(
    request: Request,
    session: Any,
    *,
    user: User,
    year: int,
    settings: Any,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    policy = policy_from_settings(settings)
    return render(
        request,
        "admin_holidays.html",
        {
            "year": year,
            "days": notification_service.list_holidays(session, year=year),
            "policy": policy,
            "ladder": format_ladder(policy.ladder),
            "errors": errors or FormErrors(),
            "values": values or {},
        },
        user=user,
        status_code=status_code,
    )


@router.post("/holidays")
def add_holiday(
    request: Request,
    user: AdminPageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"day": form.get("day"), "name": form.get("name")}

    def run() -> Any:
        day = parse_day(values["day"], name="day")
        data = validate(HolidayCreate, {"day": day, "name": values["name"]})
        return notification_service.add_holiday(session, actor=user, data=data)

    added, errors = attempt(session, run)
    if added is not None:
        return see_other(f"/admin/holidays?year={added.day.year}", notice="holiday_saved")
    return _holidays_page(
        request,
        session,
        user=user,
        year=today_local(clock).year,
        settings=settings,
        errors=errors,
        values=values,
        status_code=errors.status,
    )


@router.post("/holidays/remove")
def remove_holiday(
    request: Request,
    user: AdminPageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    def run() -> Any:
        day = parse_day(form.get("day"), name="day")
        if day is None:
            return None
        notification_service.remove_holiday(session, actor=user, day=day)
        return day

    removed, errors = attempt(session, run)
    if removed is not None:
        return see_other(f"/admin/holidays?year={removed.year}", notice="holiday_removed")
    return _holidays_page(
        request,
        session,
        user=user,
        year=today_local(clock).year,
        settings=settings,
        errors=errors,
        status_code=errors.status if errors else 422,
    )


# --- The outbox ---------------------------------------------------------------------------------


@router.get("/outbox")
def outbox(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    status: NotificationStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _outbox_page(request, session, user=user, status=status, page=page)


def _outbox_page(
    request: Request,
    session: Any,
    *,
    user: User,
    status: NotificationStatus | None = None,
    page: int = 1,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    rows, total = notification_service.list_outbox(
        session, status=status, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    return render(
        request,
        "admin_outbox.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "status": status.value if status else "",
            "statuses": list(NotificationStatus),
            "summary": notification_service.outbox_summary(session),
            "errors": errors or FormErrors(),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/outbox/retry")
def retry(
    request: Request, user: AdminPageUser, form: FormDep, session: SessionDep, clock: ClockDep
) -> Response:
    def run() -> Any:
        if form.checked("all_failed"):
            data = OutboxRetry(all_failed=True)
        else:
            data = validate(OutboxRetry, {"ids": form.all("ids")})
        return notification_service.retry(session, actor=user, data=data, now=clock())

    count, errors = attempt(session, run)
    if count is not None:
        return see_other("/admin/outbox", notice="outbox_retried")
    return _outbox_page(request, session, user=user, errors=errors, status_code=errors.status)
