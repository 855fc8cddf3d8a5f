"""HTTP routes of the agencies domain, under /api.

Every signed-in user may read the registry (reviewers map names to it); only an administrator
changes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from service.agencies import service
from service.agencies.schemas import (
    MAX_ID,
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    CommunesImport,
    CommunesResult,
    MemberAdd,
    MembersUpdate,
    SyncResult,
)
from service.auth.dependencies import AdminUser, CurrentUser
from service.database import SessionDep
from service.models import AgencyKind, AgencyLevel
from service.pagination import Page, PageDep

router = APIRouter(prefix="/agencies", tags=["agencies"])

# A larger number cannot name an agency: a 422 rather than a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=Page[AgencyRead])
def list_agencies(
    session: SessionDep,
    _user: CurrentUser,
    page: PageDep,
    level: AgencyLevel | None = None,
    kind: AgencyKind | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Tìm theo tên hoặc tên gọi khác")
    ] = None,
    is_group: bool | None = None,
    is_active: bool | None = None,
) -> Page[AgencyRead]:
    return service.list_agencies(
        session, page=page, level=level, kind=kind, q=q, is_group=is_group, is_active=is_active
    )


@router.post("", response_model=AgencyRead, status_code=201)
def create_agency(session: SessionDep, user: AdminUser, data: AgencyCreate) -> AgencyRead:
    return service.to_read(service.create_agency(session, data=data, actor=user))


@router.post("/sync", response_model=SyncResult)
def sync_registry(session: SessionDep, user: AdminUser) -> SyncResult:
    return service.sync_registry(session, actor=user)


@router.post("/communes", response_model=CommunesResult)
def import_communes(session: SessionDep, user: AdminUser, data: CommunesImport) -> CommunesResult:
    """One People's Committee per commune-level unit of a province (official list), made members
    of a group ("Ủy ban nhân dân các xã, phường" by default). Running it twice changes nothing."""
    return service.import_communes(session, data=data, actor=user)


@router.get("/{agency_id}", response_model=AgencyRead)
def get_agency(session: SessionDep, _user: CurrentUser, agency_id: RowId) -> AgencyRead:
    return service.to_read(service.get_agency(session, agency_id=agency_id))


@router.patch("/{agency_id}", response_model=AgencyRead)
def update_agency(
    session: SessionDep, user: AdminUser, agency_id: RowId, data: AgencyUpdate
) -> AgencyRead:
    agency = service.update_agency(session, agency_id=agency_id, data=data, actor=user)
    return service.to_read(agency)


@router.put("/{agency_id}/members", response_model=AgencyRead)
def set_members(
    session: SessionDep, user: AdminUser, agency_id: RowId, data: MembersUpdate
) -> AgencyRead:
    group = service.set_members(session, group_id=agency_id, member_ids=data.member_ids, actor=user)
    return service.to_read(group)


@router.post("/{agency_id}/members", response_model=AgencyRead)
def add_member(
    session: SessionDep, user: AdminUser, agency_id: RowId, data: MemberAdd
) -> AgencyRead:
    group = service.add_member(session, group_id=agency_id, member_id=data.member_id, actor=user)
    return service.to_read(group)


@router.delete("/{agency_id}/members/{member_id}", response_model=AgencyRead)
def remove_member(
    session: SessionDep, user: AdminUser, agency_id: RowId, member_id: RowId
) -> AgencyRead:
    group = service.remove_member(session, group_id=agency_id, member_id=member_id, actor=user)
    return service.to_read(group)
