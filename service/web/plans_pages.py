"""The lead office's pages: plans, import and review of a draft, the dashboard, "đôn đốc",
accepting or returning reports (in router.py), the reminder policy of a plan.

Leadership sees the same plans and dashboards without a single form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from notifications import service as notification_service
from notifications.policy import PolicyError, parse_days, parse_ladder
from notifications.schemas import PolicyUpdate, RungModel, UrgeCreate
from service import storage
from service.agencies import service as agency_service
from service.auth.dependencies import SettingsDep
from service.auth.scope import can_write, leads_plan, sees_everything
from service.clock import ClockDep, today_local
from service.database import SessionDep
from service.errors import AppError
from service.i18n import t
from service.models import AgencyKind, AgencyLevel, PlanStatus, TaskRole, User, UserRole
from service.pagination import PageParams
from service.plans import service as plan_service
from service.plans.api_schemas import (
    AssignmentMerge,
    AssignmentSplit,
    AssignmentUpdate,
    DeadlineCreate,
    DeadlineUpdate,
    MemberAdd,
    MemberAgencyCreate,
    MemberMap,
    PlanUpdate,
    TaskCreate,
    TaskUpdate,
)
from service.reports import service as report_service
from service.reports.schemas import ReportFormat, Submission
from service.tasks import service as task_service
from service.tasks.schemas import MAX_ID, TaskFilters
from service.tasks.timeliness import Timeliness
from service.web import views
from service.web.dependencies import PageRoute, PageUser
from service.web.forms import (
    FORM,
    FormDep,
    FormErrors,
    InvalidForm,
    attempt,
    optional,
    parse_day,
    see_other,
    validate,
)
from service.web.rendering import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Key = Annotated[int, Path(ge=0, le=MAX_ID)]
PLANS_PER_PAGE = 50
OVERDUE_PER_PAGE = 50
AGENCIES_PER_PAGE = 50
REPORT_KINDS = ["semiannual", "annual", "quarterly", "monthly", "period", "adhoc", "other"]


def _may_import(user: User) -> bool:
    return user.role == UserRole.ADMIN or (
        user.role == UserRole.LEAD_OFFICE and user.agency_id is not None
    )


# --- The list and the import --------------------------------------------------------------------


@router.get("/plans")
def plans(
    request: Request,
    user: PageUser,
    session: SessionDep,
    status: PlanStatus | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _plans_page(request, session, user=user, status=status, q=q, page=page)


def _plans_page(
    request: Request,
    session: Any,
    *,
    user: User,
    status: PlanStatus | None = None,
    q: str | None = None,
    page: int = 1,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    result = plan_service.list_plans(
        session,
        user=user,
        page=PageParams(limit=PLANS_PER_PAGE, offset=(page - 1) * PLANS_PER_PAGE),
        status=status,
        q=q,
    )
    return render(
        request,
        "plans.html",
        {
            "plans": result.items,
            "total": result.total,
            "page": page,
            "pages": max(1, -(-result.total // PLANS_PER_PAGE)),
            "status": status.value if status else "",
            "q": q or "",
            "statuses": list(PlanStatus),
            "may_import": _may_import(user),
            "errors": errors or FormErrors(),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/plans/import")
def import_plan(
    request: Request,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    upload = form.uploads[0] if form.uploads else None

    def run() -> Any:
        if upload is None:
            raise InvalidForm(
                FormErrors({"file": t("web.plans.no_file"), FORM: t("web.plans.no_file")})
            )
        data = storage.read_limited(upload.file, settings=settings)
        return plan_service.import_plan(
            session, data=data, filename=upload.filename or "", settings=settings, actor=user
        )

    if not _may_import(user):
        raise AppError("auth.forbidden", status=403)
    plan, errors = attempt(session, run)
    if plan is not None:
        return see_other(f"/plans/{plan.id}", notice="plan_imported")
    if errors.code == "plan.duplicate" and errors.details:
        errors["existing"] = str(errors.details.get("plan_id", ""))
    errors.setdefault("file", errors.general or "")
    return _plans_page(request, session, user=user, errors=errors, status_code=errors.status)


# --- One plan: the review of a draft, or the dashboard ------------------------------------------


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _plan_page(
        request, session, user=user, plan_id=plan_id, clock=clock, settings=settings, page=page
    )


def _plan_page(
    request: Request,
    session: Any,
    *,
    user: User,
    plan_id: int,
    clock: Any,
    settings: Any,
    errors: dict[str, FormErrors] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
    page: int = 1,
) -> Response:
    plan = plan_service.get_plan(session, plan_id=plan_id, user=user)
    if plan.status != PlanStatus.DRAFT and not (sees_everything(user) or leads_plan(user, plan)):
        # A focal point sees the plans its tasks belong to, but not the other agencies' work.
        raise AppError("consolidated.forbidden", status=403)
    context: dict[str, Any] = {
        "plan": plan,
        "manage": can_write(user) and leads_plan(user, plan),
        "errors": errors or {},
        "values": values or {},
        "no_errors": FormErrors(),
        **(extra or {}),
    }
    if plan.status == PlanStatus.DRAFT:
        read = plan_service.to_read(session, plan)
        context["plan"] = read
        agencies = agency_service.list_agencies(
            session, page=PageParams(limit=5000, offset=0), is_active=True
        ).items
        no_date = t("warn.no_date")
        context.update(
            agencies=sorted(agencies, key=lambda agency: views.fold_text(agency.name)),
            warnings=[
                (warning, warning == no_date and read.issued_on is not None)
                for warning in read.warnings
            ],
            roles=list(TaskRole),
            levels=list(AgencyLevel),
            kinds=list(AgencyKind),
            report_kinds=REPORT_KINDS,
        )
        return render(request, "review.html", context, user=user, status_code=status_code)

    today = today_local(clock)
    board = views.dashboard(
        session, plan_id=plan.id, today=today, due_soon_days=settings.due_soon_days
    )
    # The agencies that need following up first; a page at a time (500 rows do not fit a phone).
    # board.agencies is by name, and the sort is stable: by name among the same count.
    ranked = sorted(board.agencies, key=lambda row: -row.problems)
    pages = max(1, -(-len(ranked) // AGENCIES_PER_PAGE))
    page = min(page, pages)
    shown = ranked[(page - 1) * AGENCIES_PER_PAGE : page * AGENCIES_PER_PAGE]
    views.fill_cells(session, plan_id=plan.id, rows=shown, today=today)
    context.update(
        board=board,
        rows=shown,
        page=page,
        pages=pages,
        late_agencies=sum(1 for row in ranked if row.problems),
        formats=list(ReportFormat),
        submissions=[Submission.ON_TIME, Submission.LATE, Submission.RETURNED, Submission.MISSING],
        active=plan.status == PlanStatus.ACTIVE,
    )
    return render(request, "dashboard.html", context, user=user, status_code=status_code)


@router.get("/plans/{plan_id}/overdue")
def overdue_page(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    agency_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A plan's overdue tasks, longest overdue first, for one agency or all."""
    plan = plan_service.get_plan(session, plan_id=plan_id, user=user)
    if not (sees_everything(user) or leads_plan(user, plan)):
        raise AppError("consolidated.forbidden", status=403)
    today = today_local(clock)
    overdue = task_service.list_tasks(
        session,
        user=user,
        # Overdue tasks are all due before today: saying so lets the database read only those
        # from ix_tasks_plan_due instead of deriving every task's timeliness (a third of the
        # time at 50,000 tasks).
        filters=TaskFilters(
            plan_id=plan.id,
            agency_id=agency_id,
            timeliness=Timeliness.QUA_HAN,
            due_before=today - timedelta(days=1),
        ),
        page=PageParams(limit=OVERDUE_PER_PAGE, offset=(page - 1) * OVERDUE_PER_PAGE),
        clock=clock,
        settings=settings,
    )
    days = views.working_days_left(
        session, today=today, days=(task.due_on for task in overdue.items)
    )
    return render(
        request,
        "overdue.html",
        {
            "plan": plan,
            "items": [views.task_item(task, days) for task in overdue.items],
            "total": overdue.total,
            "page": page,
            "pages": max(1, -(-overdue.total // OVERDUE_PER_PAGE)),
            "agency_id": agency_id,
            "agency_name": overdue.items[0].agency_name if agency_id and overdue.items else None,
        },
        user=user,
    )


def _edit(
    request: Request,
    session: Any,
    *,
    user: User,
    plan_id: int,
    form_id: str,
    action: Callable[[], Any],
    clock: Any,
    settings: Any,
    values: dict[str, str] | None = None,
    notice: str = "draft_saved",
) -> Response:
    """Run one review edit; on success back to the plan at that form, else the plan again with
    the errors next to that form's fields."""
    done, errors = attempt(session, action)
    if done is not None:
        return see_other(f"/plans/{plan_id}", notice=notice, anchor=form_id)
    return _plan_page(
        request,
        session,
        user=user,
        plan_id=plan_id,
        clock=clock,
        settings=settings,
        errors={form_id: errors},
        values={form_id: values or {}},
        status_code=errors.status,
    )


@router.post("/plans/{plan_id}/details")
def edit_details(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {
        name: form.get(name) for name in ("title", "number", "issued_on", "start_year", "end_year")
    }

    def run() -> Any:
        data: dict[str, Any] = {name: values[name] or None for name in values}
        data["issued_on"] = parse_day(values["issued_on"], name="issued_on")
        return plan_service.update_plan(
            session, plan_id=plan_id, data=validate(PlanUpdate, data), user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id="details",
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/assignments/{key}")
def edit_assignment(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"heading": form.get("heading"), "ordinal": form.get("ordinal")}

    def run() -> Any:
        data = validate(AssignmentUpdate, {**values, "is_request": form.checked("is_request")})
        return plan_service.update_assignment(
            session, plan_id=plan_id, key=key, data=data, user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/assignments/{key}/delete")
def delete_assignment(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=lambda: plan_service.delete_assignment(session, plan_id=plan_id, key=key, user=user),
        clock=clock,
        settings=settings,
    )


@router.post("/plans/{plan_id}/assignments/{key}/merge")
def merge_assignments(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"other_key": form.get("other_key")}

    def run() -> Any:
        data = validate(AssignmentMerge, values)
        return plan_service.merge_assignments(
            session, plan_id=plan_id, key=key, data=data, user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/assignments/{key}/split")
def split_assignment(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    def run() -> Any:
        data = validate(AssignmentSplit, {"members": form.all("members")})
        return plan_service.split_assignment(
            session, plan_id=plan_id, key=key, data=data, user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=run,
        clock=clock,
        settings=settings,
    )


@router.post("/plans/{plan_id}/assignments/{key}/members")
def add_member(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = optional(form, "name", "agency_id")

    def run() -> Any:
        data = validate(MemberAdd, values)
        return plan_service.add_member(session, plan_id=plan_id, key=key, data=data, user=user)

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/assignments/{key}/members/{index}/delete")
def remove_member(
    request: Request,
    plan_id: PathId,
    key: Key,
    index: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"assignment-{key}",
        action=lambda: plan_service.remove_member(
            session, plan_id=plan_id, key=key, index=index, user=user
        ),
        clock=clock,
        settings=settings,
    )


@router.post("/plans/{plan_id}/assignments/{key}/members/{index}/map")
def map_member(
    request: Request,
    plan_id: PathId,
    key: Key,
    index: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form_id = f"member-{key}-{index}"

    def run() -> Any:
        data = validate(
            MemberMap, {"agency_id": form.get("agency_id"), "remember": form.checked("remember")}
        )
        return plan_service.map_member(
            session, plan_id=plan_id, key=key, index=index, data=data, user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=form_id,
        action=run,
        clock=clock,
        settings=settings,
        values={"agency_id": form.get("agency_id")},
    )


@router.post("/plans/{plan_id}/assignments/{key}/members/{index}/create")
def create_member_agency(
    request: Request,
    plan_id: PathId,
    key: Key,
    index: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form_id = f"member-{key}-{index}"
    values = optional(form, "name", "level", "kind", "head_email")

    def run() -> Any:
        data = validate(MemberAgencyCreate, values)
        return plan_service.create_member_agency(
            session, plan_id=plan_id, key=key, index=index, data=data, user=user
        )

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=form_id,
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/assignments/{key}/tasks")
def add_task(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form_id = f"add-task-{key}"
    values = {"text": form.get("text"), "role": form.get("role"), "due_on": form.get("due_on")}

    def run() -> Any:
        data = validate(
            TaskCreate,
            {
                "text": values["text"],
                "role": values["role"] or TaskRole.THUC_HIEN,
                "due_on": parse_day(values["due_on"], name="due_on"),
            },
        )
        return plan_service.add_task(session, plan_id=plan_id, key=key, data=data, user=user)

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=form_id,
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/tasks/{key}")
def edit_task(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form_id = f"task-{key}"
    values = {"text": form.get("text"), "role": form.get("role"), "due_on": form.get("due_on")}

    def run() -> Any:
        data = validate(
            TaskUpdate,
            {
                "text": values["text"],
                "role": values["role"],
                "due_on": parse_day(values["due_on"], name="due_on"),
            },
        )
        return plan_service.update_task(session, plan_id=plan_id, key=key, data=data, user=user)

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=form_id,
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/tasks/{key}/delete")
def delete_task(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"task-{key}",
        action=lambda: plan_service.delete_task(session, plan_id=plan_id, key=key, user=user),
        clock=clock,
        settings=settings,
    )


@router.post("/plans/{plan_id}/deadlines")
def add_deadline(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"kind": form.get("kind"), "label": form.get("label"), "due_on": form.get("due_on")}

    def run() -> Any:
        data = validate(
            DeadlineCreate,
            {**values, "due_on": parse_day(values["due_on"], name="due_on")},
        )
        return plan_service.add_deadline(session, plan_id=plan_id, data=data, user=user)

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id="add-deadline",
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/deadlines/{key}")
def edit_deadline(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form_id = f"deadline-{key}"
    values = {"label": form.get("label"), "due_on": form.get("due_on")}

    def run() -> Any:
        data = validate(
            DeadlineUpdate,
            {"label": values["label"], "due_on": parse_day(values["due_on"], name="due_on")},
        )
        return plan_service.update_deadline(session, plan_id=plan_id, key=key, data=data, user=user)

    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=form_id,
        action=run,
        clock=clock,
        settings=settings,
        values=values,
    )


@router.post("/plans/{plan_id}/deadlines/{key}/delete")
def delete_deadline(
    request: Request,
    plan_id: PathId,
    key: Key,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id=f"deadline-{key}",
        action=lambda: plan_service.delete_deadline(session, plan_id=plan_id, key=key, user=user),
        clock=clock,
        settings=settings,
    )


@router.post("/plans/{plan_id}/activate")
def activate(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id="activate",
        action=lambda: plan_service.activate(session, plan_id=plan_id, user=user, now=clock()),
        clock=clock,
        settings=settings,
        notice="plan_activated",
    )


@router.post("/plans/{plan_id}/close")
def close(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _edit(
        request,
        session,
        user=user,
        plan_id=plan_id,
        form_id="close",
        action=lambda: plan_service.close(session, plan_id=plan_id, user=user, now=clock()),
        clock=clock,
        settings=settings,
        notice="plan_closed",
    )


@router.post("/plans/{plan_id}/discard")
def discard(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    def run() -> bool:
        plan_service.delete_draft(session, plan_id=plan_id, user=user, settings=settings)
        return True

    done, errors = attempt(session, run)
    if done:
        return see_other("/plans", notice="plan_discarded")
    return _plan_page(
        request,
        session,
        user=user,
        plan_id=plan_id,
        clock=clock,
        settings=settings,
        errors={"activate": errors},
        status_code=errors.status,
    )


# --- The consolidated report -------------------------------------------------------------------


@router.get("/plans/{plan_id}/report")
def download_report(
    plan_id: PathId,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    report_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.DOCX,
    deadline: Annotated[str, Query(max_length=12, pattern=r"^\d*$")] = "",
) -> Response:
    """The consolidated report as a file, from the same service as the API's; the form's
    "as of today" is an empty `deadline`, which the API's integer parameter would refuse."""
    deadline_id = int(deadline) if deadline else None
    if deadline_id is not None and not 1 <= deadline_id <= MAX_ID:
        raise AppError("consolidated.deadline_not_found", status=404)
    rendered = report_service.export(
        session,
        user=user,
        plan_id=plan_id,
        deadline_id=deadline_id,
        report_format=report_format,
        clock=clock,
        settings=settings,
    )
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    if report_format == ReportFormat.HTML:
        # The report page is self-contained: its own inline styles, nothing else.
        headers["content-security-policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        )
    else:
        headers["content-disposition"] = f'attachment; filename="{rendered.filename}"'
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)


# --- "Đôn đốc" ----------------------------------------------------------------------------------


@router.post("/plans/{plan_id}/urge")
def urge(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    values = {"message": form.get("message")}
    chosen = form.all("agency_ids")
    if form.checked("all_late"):
        # Every agency with overdue tasks or a missing or returned report, not only this page's.
        plan = plan_service.get_plan(session, plan_id=plan_id, user=user)
        board = views.dashboard(
            session, plan_id=plan.id, today=today_local(clock), due_soon_days=settings.due_soon_days
        )
        chosen += [str(row.agency_id) for row in board.agencies if row.problems]

    def run() -> Any:
        if not chosen:
            raise InvalidForm(
                FormErrors(
                    {"agency_ids": t("web.urge.none_chosen"), FORM: t("web.urge.none_chosen")}
                )
            )
        data = validate(
            UrgeCreate,
            {"plan_id": plan_id, "agency_ids": chosen, "message": values["message"] or None},
        )
        return notification_service.urge(
            session, user=user, data=data, now=clock(), settings=settings
        )

    result, errors = attempt(session, run)
    if result is None:
        return _plan_page(
            request,
            session,
            user=user,
            plan_id=plan_id,
            clock=clock,
            settings=settings,
            errors={"urge": errors},
            values={"urge": values},
            status_code=errors.status,
        )
    plan = plan_service.get_plan(session, plan_id=plan_id, user=user)
    return render(request, "urge_result.html", {"plan": plan, "result": result}, user=user)


# --- The plan's reminder policy -----------------------------------------------------------------


@router.get("/plans/{plan_id}/policy")
def policy_page(
    request: Request, plan_id: PathId, user: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    return _policy_page(request, session, user=user, plan_id=plan_id, settings=settings)


def _policy_page(
    request: Request,
    session: Any,
    *,
    user: User,
    plan_id: int,
    settings: Any,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    plan = plan_service.get_plan(session, plan_id=plan_id, user=user)
    policy = notification_service.get_policy(session, user=user, plan_id=plan_id, settings=settings)
    effective = policy.effective
    ladder = ",".join(
        f"{rung.after}={'+'.join(sorted(rung.audiences))}{'!' if rung.immediate else ''}"
        for rung in effective.escalation_ladder
    )
    shown = {
        "reminder_days": ",".join(map(str, effective.reminder_days)),
        "escalation_ladder": ladder,
        "repeat_every": str(effective.repeat_every),
        "max_repeats": str(effective.max_repeats),
        "on_the_day": "1" if effective.on_the_day else "",
        "enabled": "1" if effective.enabled else "",
        **(values or {}),
    }
    return render(
        request,
        "policy.html",
        {
            "plan": plan,
            "policy": policy,
            "values": shown,
            "manage": can_write(user) and leads_plan(user, plan),
            "errors": errors or FormErrors(),
        },
        user=user,
        status_code=status_code,
    )


@router.post("/plans/{plan_id}/policy")
def set_policy(
    request: Request,
    plan_id: PathId,
    user: PageUser,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    values = {
        name: form.get(name)
        for name in ("reminder_days", "escalation_ladder", "repeat_every", "max_repeats")
    }
    values["on_the_day"] = "1" if form.checked("on_the_day") else ""
    values["enabled"] = "1" if form.checked("enabled") else ""

    def run() -> Any:
        try:
            days = list(parse_days(values["reminder_days"]))
        except PolicyError as error:
            raise InvalidForm(
                FormErrors({"reminder_days": error.message, FORM: error.message})
            ) from None
        try:
            ladder = [
                RungModel(
                    after=rung.after, audiences=sorted(rung.audiences), immediate=rung.immediate
                )
                for rung in parse_ladder(values["escalation_ladder"])
            ]
        except PolicyError as error:
            raise InvalidForm(
                FormErrors({"escalation_ladder": error.message, FORM: error.message})
            ) from None
        data = validate(
            PolicyUpdate,
            {
                "reminder_days": days,
                "escalation_ladder": ladder,
                "repeat_every": values["repeat_every"],
                "max_repeats": values["max_repeats"],
                "on_the_day": bool(values["on_the_day"]),
                "enabled": bool(values["enabled"]),
            },
        )
        return notification_service.set_policy(
            session, user=user, plan_id=plan_id, data=data, settings=settings
        )

    done, errors = attempt(session, run)
    if done is not None:
        return see_other(f"/plans/{plan_id}/policy", notice="policy_saved")
    return _policy_page(
        request,
        session,
        user=user,
        plan_id=plan_id,
        settings=settings,
        errors=errors,
        values=values,
        status_code=errors.status,
    )


@router.post("/plans/{plan_id}/policy/clear")
def clear_policy(plan_id: PathId, user: PageUser, form: FormDep, session: SessionDep) -> Response:
    notification_service.clear_policy(session, user=user, plan_id=plan_id)
    return see_other(f"/plans/{plan_id}/policy", notice="policy_cleared")
