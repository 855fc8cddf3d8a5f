"""HTTP routes of the users domain, under /api: accounts (administrators) and focal points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from service.auth.dependencies import AdminUser, CurrentUser
from service.clock import ClockDep
from service.database import SessionDep
from service.models import UserRole
from service.pagination import Page, PageDep
from service.users import service as user_service
from service.users.schemas import FocalPointRead, UserCreate, UserRead, UserUpdate

router = APIRouter(tags=["users"])

# Ids are 32-bit integers in the database: a larger one is refused here, not by the driver.
MAX_ID = 2**31 - 1
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users", summary="Danh sách tài khoản (quản trị viên)")
def list_users(
    admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    role: UserRole | None = None,
    agency_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Tìm theo e-mail hoặc họ tên")
    ] = None,
    is_active: bool | None = None,
) -> Page[UserRead]:
    rows, total = user_service.list_users(
        session,
        role=role,
        agency_id=agency_id,
        q=q,
        is_active=is_active,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[user_service.to_read(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Tạo tài khoản (quản trị viên)")
def create_user(body: UserCreate, admin: AdminUser, session: SessionDep) -> UserRead:
    return user_service.to_read(user_service.create_user(session, actor=admin, data=body))


@router.get("/users/{user_id}", summary="Một tài khoản (quản trị viên)")
def get_user(user_id: UserId, admin: AdminUser, session: SessionDep) -> UserRead:
    return user_service.to_read(user_service.get_user(session, user_id=user_id))


@router.patch("/users/{user_id}", summary="Sửa tài khoản (quản trị viên)")
def update_user(
    user_id: UserId, body: UserUpdate, admin: AdminUser, session: SessionDep, clock: ClockDep
) -> UserRead:
    user = user_service.update_user(session, actor=admin, user_id=user_id, data=body, now=clock())
    return user_service.to_read(user)


@router.post("/users/{user_id}/deactivate", summary="Khóa tài khoản (quản trị viên)")
def deactivate_user(
    user_id: UserId, admin: AdminUser, session: SessionDep, clock: ClockDep
) -> UserRead:
    user = user_service.deactivate_user(session, actor=admin, user_id=user_id, now=clock())
    return user_service.to_read(user)


@router.get(
    "/focal-points",
    summary="Đầu mối của các cơ quan (thường trực: cơ quan trong kế hoạch mình chủ trì)",
)
def list_focal_points(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    agency_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    plan_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[FocalPointRead]:
    items, total = user_service.list_focal_points(
        session,
        viewer=user,
        agency_id=agency_id,
        plan_id=plan_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
