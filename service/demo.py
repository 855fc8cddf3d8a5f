"""Demo data for `dondoc serve --demo`: the bundled sample plan, tracked, and one account per role.

Loading twice changes nothing: agencies, people and the plan are looked up before they are
made. Every account has the same well-known password, so the demo is refused in production.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agencies import service as agency_service
from service.agencies.schemas import AgencyCreate
from service.clock import Clock, system_clock
from service.config import Settings
from service.errors import AppError
from service.i18n import t
from service.models import Agency, AgencyKind, AgencyLevel, Plan, PlanStatus, Task, User, UserRole
from service.plans import service as plan_service
from service.tasks import service as task_service
from service.tasks.schemas import StatusUpdateCreate
from service.users import service as user_service
from service.users.schemas import UserCreate

SAMPLE_PLAN = Path(__file__).parent / "plans" / "samples" / "thanh-liem-2021.txt"
DEMO_PASSWORD = "dondoc-demo"

# The group the sample plan assigns to ("Ủy ban nhân dân các xã, thị trấn") and three of its
# members, so the plan fans out to communes as a real one does.
COMMUNE_GROUP = "Ủy ban nhân dân các xã, thị trấn"
COMMUNES = (
    "Ủy ban nhân dân thị trấn Tân Thanh",
    "Ủy ban nhân dân xã Thanh Hà",
    "Ủy ban nhân dân xã Thanh Phong",
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    role: UserRole
    agency: str | None


ACCOUNTS = (
    DemoAccount("quantri@demo.dondoc.vn", "Quản trị hệ thống", UserRole.ADMIN, None),
    DemoAccount(
        "thuongtruc@demo.dondoc.vn",
        "Trần Thị Lan",
        UserRole.LEAD_OFFICE,
        "Phòng Lao động - Thương binh và Xã hội",
    ),
    DemoAccount(
        "taichinh@demo.dondoc.vn",
        "Lê Văn Minh",
        UserRole.FOCAL_POINT,
        "Phòng Tài chính - Kế hoạch",
    ),
    DemoAccount("yte@demo.dondoc.vn", "Phạm Thị Hoa", UserRole.FOCAL_POINT, "Phòng Y tế"),
    DemoAccount(
        "thanhha@demo.dondoc.vn", "Đỗ Văn Hùng", UserRole.FOCAL_POINT, "Ủy ban nhân dân xã Thanh Hà"
    ),
    DemoAccount(
        "lanhdao@demo.dondoc.vn", "Nguyễn Văn Bình", UserRole.LEADERSHIP, "Ủy ban nhân dân huyện"
    ),
)


@dataclass
class DemoResult:
    accounts: list[DemoAccount]
    plan_id: int
    plan_title: str
    created_users: int = 0
    plan_imported: bool = False
    plan_activated: bool = False
    notes: list[str] = field(default_factory=list)


def load_demo(session: Session, *, settings: Settings, clock: Clock = system_clock) -> DemoResult:
    """Agencies from the registry, demo communes, one account per role, the sample plan
    imported by the lead office and activated, and two status updates. Idempotent."""
    agency_service.sync_registry(session)
    _ensure_communes(session)
    users: dict[str, User] = {}
    created = 0
    for account in ACCOUNTS:
        users[account.email], made = _ensure_user(session, account)
        created += made
    lead = users["thuongtruc@demo.dondoc.vn"]

    data = SAMPLE_PLAN.read_bytes()
    plan = session.scalar(
        select(Plan).where(Plan.source_sha256 == hashlib.sha256(data).hexdigest())
    )
    imported = plan is None
    if plan is None:
        plan = plan_service.import_plan(
            session, data=data, filename=SAMPLE_PLAN.name, settings=settings, actor=lead
        )
    activated = plan.status == PlanStatus.DRAFT
    if activated:
        plan, _counts = plan_service.activate(session, plan_id=plan.id, user=lead, now=clock())
        _first_updates(session, plan=plan, users=users, settings=settings, clock=clock)
    return DemoResult(
        accounts=list(ACCOUNTS),
        plan_id=plan.id,
        plan_title=plan.title or SAMPLE_PLAN.name,
        created_users=created,
        plan_imported=imported,
        plan_activated=activated,
    )


def _agency(session: Session, name: str) -> Agency:
    agency = agency_service.resolve(session, name)
    if agency is None:
        # The registry no longer knows a body the demo relies on: say which.
        raise AppError("demo.agency_missing", status=500, name=name)
    return agency


def _ensure_communes(session: Session) -> None:
    group = _agency(session, COMMUNE_GROUP)
    member_ids = [m.id for m in group.members]
    for name in COMMUNES:
        commune = session.scalar(select(Agency).where(Agency.name == name))
        if commune is None:
            commune = agency_service.create_agency(
                session,
                data=AgencyCreate(
                    name=name, level=AgencyLevel.COMMUNE, kind=AgencyKind.PEOPLE_COMMITTEE
                ),
                actor=None,
            )
        if commune.id not in member_ids:
            member_ids.append(commune.id)
    if member_ids != [m.id for m in group.members]:
        agency_service.set_members(session, group_id=group.id, member_ids=member_ids, actor=None)


def _ensure_user(session: Session, account: DemoAccount) -> tuple[User, bool]:
    user = session.scalar(select(User).where(User.email == account.email))
    if user is not None:
        return user, False
    agency = _agency(session, account.agency) if account.agency else None
    data = UserCreate(
        email=account.email,
        full_name=account.full_name,
        role=account.role,
        agency_id=agency.id if agency else None,
        password=DEMO_PASSWORD,
    )
    return user_service.create_user(session, actor=None, data=data), True


def _first_updates(
    session: Session, *, plan: Plan, users: dict[str, User], settings: Settings, clock: Clock
) -> None:
    """A task under way and a task done, so the lists do not all read "chưa triển khai"."""
    for email, update in (
        ("taichinh@demo.dondoc.vn", {"state": "dang_thuc_hien", "progress": 60}),
        ("yte@demo.dondoc.vn", {"state": "hoan_thanh"}),
    ):
        user = users[email]
        task = session.scalar(
            select(Task)
            .where(Task.plan_id == plan.id, Task.agency_id == user.agency_id)
            .order_by(Task.id)
        )
        if task is None:
            continue
        task_service.update_status(
            session,
            user=user,
            task_id=task.id,
            data=StatusUpdateCreate.model_validate(
                {**update, "version": task.version, "narrative": t("demo.update_narrative")}
            ),
            files=[],
            clock=clock,
            settings=settings,
        )
