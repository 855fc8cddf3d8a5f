"""HTTP routes of the plans domain, under /api: import, review, activation, listing.

Review routes address a draft's parts by the `key` shown in `review` (assignments, tasks,
deadlines) and a member by its `index` within its assignment.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from service import storage
from service.auth.dependencies import CurrentUser, LeadUser
from service.clock import ClockDep
from service.config import Settings, get_settings
from service.database import SessionDep
from service.models import PlanStatus, SourceFormat
from service.pagination import Page, PageDep
from service.plans import service
from service.plans.api_schemas import (
    ActivationResult,
    AssignmentMerge,
    AssignmentSplit,
    AssignmentUpdate,
    DeadlineCreate,
    DeadlineUpdate,
    MemberAdd,
    MemberAgencyCreate,
    MemberMap,
    PlanRead,
    PlanSummary,
    PlanUpdate,
    TaskCreate,
    TaskUpdate,
)

router = APIRouter(prefix="/plans", tags=["plans"])

_MEDIA_TYPES = {
    SourceFormat.TXT: "text/plain",
    SourceFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    SourceFormat.PDF: "application/pdf",
}


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


@router.get("", response_model=Page[PlanSummary])
def list_plans(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    status: PlanStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Tìm theo tên, số ký hiệu")] = None,
) -> Page[PlanSummary]:
    return service.list_plans(session, user=user, page=page, status=status, q=q)


@router.post("/imports", response_model=PlanRead, status_code=201)
def import_plan(
    request: Request,
    session: SessionDep,
    user: LeadUser,
    file: Annotated[UploadFile, File(description="Tệp kế hoạch: .txt, .docx hoặc .pdf")],
) -> PlanRead:
    """Store an uploaded plan as a draft for review. The same file twice: 409 `plan.duplicate`."""
    settings = _settings(request)
    data = storage.read_limited(file.file, settings=settings)
    plan = service.import_plan(
        session, data=data, filename=file.filename or "", settings=settings, actor=user
    )
    return service.to_read(session, plan)


@router.get("/{plan_id}", response_model=PlanRead)
def get_plan(session: SessionDep, user: CurrentUser, plan_id: int) -> PlanRead:
    return service.to_read(session, service.get_plan(session, plan_id=plan_id, user=user))


@router.patch("/{plan_id}", response_model=PlanRead)
def update_plan(session: SessionDep, user: CurrentUser, plan_id: int, data: PlanUpdate) -> PlanRead:
    plan = service.update_plan(session, plan_id=plan_id, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}", status_code=204)
def delete_draft(request: Request, session: SessionDep, user: CurrentUser, plan_id: int) -> None:
    service.delete_draft(session, plan_id=plan_id, user=user, settings=_settings(request))


@router.get("/{plan_id}/source", response_class=Response)
def download_source(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: int
) -> Response:
    data, filename, source_format = service.source_file(
        session, plan_id=plan_id, user=user, settings=_settings(request)
    )
    ascii_name = (
        unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "ke-hoach"
    ).replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content=data,
        media_type=_MEDIA_TYPES[source_format],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.post("/{plan_id}/activate", response_model=ActivationResult)
def activate(
    session: SessionDep, user: CurrentUser, clock: ClockDep, plan_id: int
) -> ActivationResult:
    plan, created = service.activate(session, plan_id=plan_id, user=user, now=clock())
    return ActivationResult(plan=service.to_read(session, plan), created=created)


@router.post("/{plan_id}/close", response_model=PlanRead)
def close(session: SessionDep, user: CurrentUser, clock: ClockDep, plan_id: int) -> PlanRead:
    plan = service.close(session, plan_id=plan_id, user=user, now=clock())
    return service.to_read(session, plan)


# --- review of a draft --------------------------------------------------------------------------


@router.patch("/{plan_id}/assignments/{key}", response_model=PlanRead)
def update_assignment(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: AssignmentUpdate
) -> PlanRead:
    plan = service.update_assignment(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/assignments/{key}", response_model=PlanRead)
def delete_assignment(session: SessionDep, user: CurrentUser, plan_id: int, key: int) -> PlanRead:
    plan = service.delete_assignment(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/merge", response_model=PlanRead)
def merge_assignments(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: AssignmentMerge
) -> PlanRead:
    plan = service.merge_assignments(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/split", response_model=PlanRead)
def split_assignment(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: AssignmentSplit
) -> PlanRead:
    plan = service.split_assignment(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/members", response_model=PlanRead)
def add_member(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: MemberAdd
) -> PlanRead:
    plan = service.add_member(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/assignments/{key}/members/{index}", response_model=PlanRead)
def remove_member(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, index: int
) -> PlanRead:
    plan = service.remove_member(session, plan_id=plan_id, key=key, index=index, user=user)
    return service.to_read(session, plan)


@router.put("/{plan_id}/assignments/{key}/members/{index}/agency", response_model=PlanRead)
def map_member(
    session: SessionDep,
    user: CurrentUser,
    plan_id: int,
    key: int,
    index: int,
    data: MemberMap,
) -> PlanRead:
    """Point this name (everywhere it occurs in the draft) at an existing agency."""
    plan = service.map_member(session, plan_id=plan_id, key=key, index=index, data=data, user=user)
    return service.to_read(session, plan)


@router.post(
    "/{plan_id}/assignments/{key}/members/{index}/agency",
    response_model=PlanRead,
    status_code=201,
)
def create_member_agency(
    session: SessionDep,
    user: CurrentUser,
    plan_id: int,
    key: int,
    index: int,
    data: MemberAgencyCreate,
) -> PlanRead:
    """Create a new agency from this name and point the name at it."""
    plan = service.create_member_agency(
        session, plan_id=plan_id, key=key, index=index, data=data, user=user
    )
    return service.to_read(session, plan)


@router.post(
    "/{plan_id}/assignments/{key}/tasks",
    response_model=PlanRead,
    status_code=201,
)
def add_task(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: TaskCreate
) -> PlanRead:
    plan = service.add_task(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.patch("/{plan_id}/tasks/{key}", response_model=PlanRead)
def update_task(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: TaskUpdate
) -> PlanRead:
    plan = service.update_task(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/tasks/{key}", response_model=PlanRead)
def delete_task(session: SessionDep, user: CurrentUser, plan_id: int, key: int) -> PlanRead:
    plan = service.delete_task(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/deadlines", response_model=PlanRead, status_code=201)
def add_deadline(
    session: SessionDep, user: CurrentUser, plan_id: int, data: DeadlineCreate
) -> PlanRead:
    plan = service.add_deadline(session, plan_id=plan_id, data=data, user=user)
    return service.to_read(session, plan)


@router.patch("/{plan_id}/deadlines/{key}", response_model=PlanRead)
def update_deadline(
    session: SessionDep, user: CurrentUser, plan_id: int, key: int, data: DeadlineUpdate
) -> PlanRead:
    plan = service.update_deadline(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/deadlines/{key}", response_model=PlanRead)
def delete_deadline(session: SessionDep, user: CurrentUser, plan_id: int, key: int) -> PlanRead:
    plan = service.delete_deadline(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)
