"""HTTP routes of the plans domain, under /api: import, review, activation, listing.

Review routes address a draft's parts by the `key` shown in `review` (assignments, tasks,
deadlines) and a member by its `index` within its assignment.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Query, Response, UploadFile

from service import storage
from service.agencies.schemas import MAX_ID
from service.auth.dependencies import CurrentUser, LeadUser, SettingsDep
from service.clock import ClockDep
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

# Path numbers: larger ones cannot name anything, so they are a 422 rather than a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
KeyPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Khóa trong bản nháp")]
IndexPath = Annotated[int, Path(ge=0, le=MAX_ID, description="Vị trí cơ quan trong khối")]

_MEDIA_TYPES = {
    SourceFormat.TXT: "text/plain",
    SourceFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    SourceFormat.PDF: "application/pdf",
}


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
    session: SessionDep,
    user: LeadUser,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="Tệp kế hoạch: .txt, .docx hoặc .pdf")],
) -> PlanRead:
    """Store an uploaded plan as a draft for review. The same file twice: 409 `plan.duplicate`."""
    data = storage.read_limited(file.file, settings=settings)
    plan = service.import_plan(
        session, data=data, filename=file.filename or "", settings=settings, actor=user
    )
    return service.to_read(session, plan)


@router.get("/{plan_id}", response_model=PlanRead)
def get_plan(session: SessionDep, user: CurrentUser, plan_id: RowId) -> PlanRead:
    return service.to_read(session, service.get_plan(session, plan_id=plan_id, user=user))


@router.patch("/{plan_id}", response_model=PlanRead)
def update_plan(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, plan_id: RowId, data: PlanUpdate
) -> PlanRead:
    """Edit a draft's metadata. New years or issue date recompute the deadlines computed from
    the reporting regime; deadlines typed or edited by hand stay."""
    plan = service.update_plan(
        session, plan_id=plan_id, data=data, user=user, calendar=settings.report_calendar()
    )
    return service.to_read(session, plan)


@router.delete("/{plan_id}", status_code=204)
def delete_draft(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, plan_id: RowId
) -> None:
    service.delete_draft(session, plan_id=plan_id, user=user, settings=settings)


@router.get("/{plan_id}/source", response_class=Response)
def download_source(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, plan_id: RowId
) -> Response:
    data, filename, source_format = service.source_file(
        session, plan_id=plan_id, user=user, settings=settings
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
    session: SessionDep, user: CurrentUser, clock: ClockDep, plan_id: RowId
) -> ActivationResult:
    plan, created = service.activate(session, plan_id=plan_id, user=user, now=clock())
    return ActivationResult(plan=service.to_read(session, plan), created=created)


@router.post("/{plan_id}/close", response_model=PlanRead)
def close(session: SessionDep, user: CurrentUser, clock: ClockDep, plan_id: RowId) -> PlanRead:
    plan = service.close(session, plan_id=plan_id, user=user, now=clock())
    return service.to_read(session, plan)


# --- review of a draft --------------------------------------------------------------------------


@router.patch("/{plan_id}/assignments/{key}", response_model=PlanRead)
def update_assignment(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: AssignmentUpdate
) -> PlanRead:
    plan = service.update_assignment(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/assignments/{key}", response_model=PlanRead)
def delete_assignment(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath
) -> PlanRead:
    plan = service.delete_assignment(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/merge", response_model=PlanRead)
def merge_assignments(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: AssignmentMerge
) -> PlanRead:
    plan = service.merge_assignments(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/split", response_model=PlanRead)
def split_assignment(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: AssignmentSplit
) -> PlanRead:
    plan = service.split_assignment(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/assignments/{key}/members", response_model=PlanRead)
def add_member(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: MemberAdd
) -> PlanRead:
    plan = service.add_member(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/assignments/{key}/members/{index}", response_model=PlanRead)
def remove_member(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, index: IndexPath
) -> PlanRead:
    plan = service.remove_member(session, plan_id=plan_id, key=key, index=index, user=user)
    return service.to_read(session, plan)


@router.put("/{plan_id}/assignments/{key}/members/{index}/agency", response_model=PlanRead)
def map_member(
    session: SessionDep,
    user: CurrentUser,
    plan_id: RowId,
    key: KeyPath,
    index: IndexPath,
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
    plan_id: RowId,
    key: KeyPath,
    index: IndexPath,
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
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: TaskCreate
) -> PlanRead:
    plan = service.add_task(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.patch("/{plan_id}/tasks/{key}", response_model=PlanRead)
def update_task(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: TaskUpdate
) -> PlanRead:
    plan = service.update_task(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/tasks/{key}", response_model=PlanRead)
def delete_task(session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath) -> PlanRead:
    plan = service.delete_task(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)


@router.post("/{plan_id}/deadlines", response_model=PlanRead, status_code=201)
def add_deadline(
    session: SessionDep, user: CurrentUser, plan_id: RowId, data: DeadlineCreate
) -> PlanRead:
    plan = service.add_deadline(session, plan_id=plan_id, data=data, user=user)
    return service.to_read(session, plan)


@router.patch("/{plan_id}/deadlines/{key}", response_model=PlanRead)
def update_deadline(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath, data: DeadlineUpdate
) -> PlanRead:
    plan = service.update_deadline(session, plan_id=plan_id, key=key, data=data, user=user)
    return service.to_read(session, plan)


@router.delete("/{plan_id}/deadlines/{key}", response_model=PlanRead)
def delete_deadline(
    session: SessionDep, user: CurrentUser, plan_id: RowId, key: KeyPath
) -> PlanRead:
    plan = service.delete_deadline(session, plan_id=plan_id, key=key, user=user)
    return service.to_read(session, plan)
