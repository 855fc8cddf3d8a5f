"""HTTP routes of the notifications domain, under /api/notifications.

- the outbox, for administrators: list by status, counts, retry failed e-mails;
- "đôn đốc", for the lead office of a plan: remind chosen agencies now, through the outbox;
- a plan's reminder policy: read (whoever sees the plan), override (its lead office);
- days off: the year's holidays (anyone signed in), extra ones (administrators);
- pausing a person's reminders (administrators);
- the caller's deadlines as an iCalendar feed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from notifications import scheduler
from notifications import service as notification_service
from notifications.schemas import (
    MAX_ID,
    HolidayCreate,
    HolidayRead,
    OutboxItemRead,
    OutboxRetried,
    OutboxRetry,
    OutboxSummary,
    PauseRead,
    PauseUpdate,
    PolicyRead,
    PolicyUpdate,
    UrgeCreate,
    UrgeResult,
)
from service.auth.dependencies import AdminUser, CurrentUser, LeadUser, SettingsDep
from service.clock import ClockDep, today_local
from service.database import SessionDep
from service.models import NotificationStatus
from service.pagination import Page, PageDep

# The scheduler runs inside the web process when `scheduler_in_serve` is on.
router = APIRouter(prefix="/notifications", tags=["notifications"], lifespan=scheduler.lifespan)

PlanId = Annotated[int, Path(ge=1, le=MAX_ID)]
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/outbox", summary="Hộp thư đi: thư chờ gửi, đã gửi, gửi không được")
def list_outbox(
    admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    status: NotificationStatus | None = None,
) -> Page[OutboxItemRead]:
    rows, total = notification_service.list_outbox(
        session, status=status, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[OutboxItemRead.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/outbox/summary", summary="Số thư theo trạng thái")
def outbox_summary(admin: AdminUser, session: SessionDep) -> OutboxSummary:
    return notification_service.outbox_summary(session)


@router.post("/outbox/retry", summary="Gửi lại các thư gửi không được")
def retry(
    body: OutboxRetry, admin: AdminUser, session: SessionDep, clock: ClockDep
) -> OutboxRetried:
    return OutboxRetried(
        retried=notification_service.retry(session, actor=admin, data=body, now=clock())
    )


@router.post("/urge", status_code=status.HTTP_201_CREATED, summary="Đôn đốc các cơ quan ngay")
def urge(
    body: UrgeCreate, user: LeadUser, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> UrgeResult:
    return notification_service.urge(session, user=user, data=body, now=clock(), settings=settings)


@router.get("/plans/{plan_id}/policy", summary="Lịch nhắc hạn, chuyển cấp của một kế hoạch")
def get_policy(
    plan_id: PlanId, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> PolicyRead:
    return notification_service.get_policy(session, user=user, plan_id=plan_id, settings=settings)


@router.put("/plans/{plan_id}/policy", summary="Đặt lịch nhắc hạn riêng cho kế hoạch")
def set_policy(
    plan_id: PlanId,
    body: PolicyUpdate,
    user: LeadUser,
    session: SessionDep,
    settings: SettingsDep,
) -> PolicyRead:
    return notification_service.set_policy(
        session, user=user, plan_id=plan_id, data=body, settings=settings
    )


@router.delete(
    "/plans/{plan_id}/policy",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Bỏ lịch riêng, theo lịch chung",
)
def clear_policy(plan_id: PlanId, user: LeadUser, session: SessionDep) -> None:
    notification_service.clear_policy(session, user=user, plan_id=plan_id)


@router.get("/holidays", summary="Ngày nghỉ trong năm (lễ, Tết và ngày nghỉ bổ sung)")
def list_holidays(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[HolidayRead]:
    return notification_service.list_holidays(session, year=year or today_local(clock).year)


@router.post(
    "/holidays", status_code=status.HTTP_201_CREATED, summary="Thêm ngày nghỉ (quản trị viên)"
)
def add_holiday(body: HolidayCreate, admin: AdminUser, session: SessionDep) -> HolidayRead:
    return notification_service.add_holiday(session, actor=admin, data=body)


@router.delete(
    "/holidays",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Bỏ một ngày nghỉ đã thêm (quản trị viên)",
)
def remove_holiday(admin: AdminUser, session: SessionDep, day: Annotated[date, Query()]) -> None:
    notification_service.remove_holiday(session, actor=admin, day=day)


@router.put("/users/{user_id}/pause", summary="Tạm dừng nhắc việc cho một người (quản trị viên)")
def pause(
    user_id: UserId, body: PauseUpdate, admin: AdminUser, session: SessionDep, clock: ClockDep
) -> PauseRead:
    return notification_service.pause(session, actor=admin, user_id=user_id, data=body, now=clock())


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="Lịch các hạn báo cáo, nhiệm vụ của bạn (iCalendar)",
)
def calendar_feed(
    user: CurrentUser, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    content = notification_service.calendar_feed(session, user=user, now=clock(), settings=settings)
    return Response(
        content=content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dondoc.ics"'},
    )
