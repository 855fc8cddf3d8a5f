"""Plans to report on: a synthetic one of any size, and a scenario from a real fixture plan.

The scenario is the Thanh Liêm 2021 plan (tests/fixtures/plans/thanh-liem-2021.txt) as the
parser reads it, activated by hand (one agency per registry name, the communes' group fanned out
to three communes), then lived through with the tasks service: status updates on time and late,
a blocked task, reports sent on time and late, one accepted and one returned.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import (
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    DeadlineSource,
    ObligationStatus,
    Plan,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    SourceFormat,
    StatusUpdate,
    Task,
    TaskRole,
    TaskState,
    User,
    UserRole,
)
from service.plans.parser import parse_bytes
from service.tasks import service as task_service
from service.tasks.schemas import ReportAccept, ReportReturn, ReportSubmit, StatusUpdateCreate
from tests import factories

FIXTURE = Path(__file__).parents[1] / "fixtures" / "plans" / "thanh-liem-2021.txt"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")

_serial = itertools.count(1)


def at(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock in Vietnam on `day`, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=HANOI).astimezone(UTC)


def agency(session: Session, name: str, **fields: object) -> Agency:
    row = Agency(
        name=name,
        level=fields.pop("level", AgencyLevel.DISTRICT),
        kind=fields.pop("kind", AgencyKind.DEPARTMENT),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


# --- Any size -----------------------------------------------------------------------------------


def synthetic_plan(
    session: Session, *, agencies: int, tasks_per_agency: int, lead: Agency
) -> tuple[Plan, list[ReportDeadline]]:
    """An active plan led by `lead` with `agencies` agencies, each with tasks (one updated,
    one blocked, one done) and a report owed for two deadlines (the first one sent)."""
    number = next(_serial)
    plan = Plan(
        title=f"Kế hoạch tổng hợp {number}",
        number=f"{number}/KH-UBND",
        issuer="Ủy ban nhân dân huyện Thử Nghiệm",
        status=PlanStatus.ACTIVE,
        lead_agency_id=lead.id,
        source_filename=f"tong-hop-{number}.txt",
        source_format=SourceFormat.TXT,
        source_sha256=f"{number:064x}",
        extraction={},
        start_year=2025,
        end_year=2025,
    )
    session.add(plan)
    session.flush()
    writer = factories.user(session, UserRole.FOCAL_POINT, lead)
    deadlines = [
        ReportDeadline(
            plan_id=plan.id,
            kind=kind,
            label=label,
            due_on=due_on,
            source=DeadlineSource.PLAN,
        )
        for kind, label, due_on in (
            ("semiannual", "Báo cáo 6 tháng đầu năm 2025", date(2025, 6, 10)),
            ("annual", "Báo cáo năm 2025", date(2025, 11, 10)),
        )
    ]
    session.add_all(deadlines)
    session.flush()
    for index in range(agencies):
        member = agency(session, f"Đơn vị {number}-{index + 1:03d}")
        assignment = Assignment(
            plan_id=plan.id, ordinal=str(index + 1), heading=member.name, position=index
        )
        session.add(assignment)
        session.flush()
        tasks = [
            Task(
                plan_id=plan.id,
                assignment_id=assignment.id,
                agency_id=member.id,
                text=f"Nhiệm vụ {position + 1} của {member.name}",
                role=TaskRole.CHU_TRI,
                due_on=date(2025, 5, 31) if position % 2 else date(2025, 12, 31),
                state=(TaskState.GAP_VUONG_MAC, TaskState.HOAN_THANH, TaskState.DANG_THUC_HIEN)[
                    position % 3
                ],
                progress=(40, 100, 60)[position % 3],
                blocked_reason="Thiếu kinh phí" if position % 3 == 0 else None,
                completed_on=date(2025, 5, 20) if position % 3 == 1 else None,
            )
            for position in range(tasks_per_agency)
        ]
        session.add_all(tasks)
        session.flush()
        session.add_all(
            StatusUpdate(
                task_id=task.id,
                user_id=writer.id,
                created_at=at(date(2025, 6, 1)) + timedelta(minutes=offset),
                state=task.state,
                progress=task.progress,
                narrative=f"Đã triển khai {task.text}",
                blocked_reason=task.blocked_reason,
            )
            for task in tasks
            for offset in (0, 1)
        )
        session.add_all(
            ReportObligation(
                deadline_id=deadline.id,
                agency_id=member.id,
                due_on=deadline.due_on,
                status=(
                    ObligationStatus.SUBMITTED
                    if deadline is deadlines[0]
                    else ObligationStatus.PENDING
                ),
                submitted_at=at(date(2025, 6, 9)) if deadline is deadlines[0] else None,
                narrative=f"Báo cáo của {member.name}",
            )
            for deadline in deadlines
        )
    session.flush()
    return plan, deadlines


# --- The fixture scenario -----------------------------------------------------------------------

# Communes standing for "Ủy ban nhân dân các xã, thị trấn".
COMMUNES = ("UBND xã Thanh Hà", "UBND xã Liêm Cần", "UBND thị trấn Tân Thanh")
LEAD = "Phòng Lao động - Thương binh và Xã hội"
TODAY = date(2021, 6, 20)
# When the report is made: 20/06/2021 08:00 in Vietnam.
NOW = at(TODAY, 8)


@dataclass
class Scenario:
    plan: Plan
    lead: Agency
    report_to: Agency
    agencies: dict[str, Agency]
    q1: ReportDeadline
    semiannual: ReportDeadline
    annual: ReportDeadline
    lead_user: User
    admin: User
    leadership: User
    focal: dict[str, User] = field(default_factory=dict)
    tasks: dict[str, list[Task]] = field(default_factory=dict)

    def task(self, agency_name: str, index: int = 0) -> Task:
        return self.tasks[agency_name][index]


def scenario(session: Session, *, settings: Settings) -> Scenario:
    extraction = parse_bytes(
        FIXTURE.read_bytes(), FIXTURE.name, calendar=settings.report_calendar()
    )
    report_to = agency(
        session,
        "Ủy ban nhân dân huyện Thanh Liêm",
        kind=AgencyKind.PEOPLE_COMMITTEE,
    )
    agencies: dict[str, Agency] = {}

    def member(name: str) -> Agency:
        if name not in agencies:
            level = AgencyLevel.COMMUNE if name in COMMUNES else AgencyLevel.DISTRICT
            agencies[name] = agency(session, name, level=level)
        return agencies[name]

    lead = member(LEAD)
    plan = Plan(
        title=extraction.plan.title,
        number="45/KH-UBND",
        issuer=extraction.plan.issuer,
        issued_on=date(2021, 3, 15),
        start_year=2021,
        end_year=2021,
        status=PlanStatus.ACTIVE,
        lead_agency_id=lead.id,
        report_to_agency_id=report_to.id,
        source_filename=FIXTURE.name,
        source_format=SourceFormat.TXT,
        source_sha256="5" * 64,
        extraction=extraction.to_json_dict(),
        activated_at=at(date(2021, 3, 20)),
    )
    session.add(plan)
    session.flush()

    tasks: dict[str, list[Task]] = {}
    for position, block in enumerate(extraction.assignments):
        assignment = Assignment(
            plan_id=plan.id,
            ordinal=block.ordinal,
            heading=block.heading,
            position=position,
            is_lead=block.is_lead,
            is_request=block.is_request,
        )
        session.add(assignment)
        session.flush()
        names = [
            name or heading for name, heading in zip(block.canonical, block.members, strict=True)
        ]
        if names == ["Ủy ban nhân dân các xã, thị trấn"]:
            names = list(COMMUNES)
        for name in names:
            for item in block.tasks:
                task = Task(
                    plan_id=plan.id,
                    assignment_id=assignment.id,
                    agency_id=member(name).id,
                    text=item.text,
                    role=TaskRole(item.role),
                    co_agencies=item.co_agencies,
                    due_on=date(2021, 12, 31),
                )
                session.add(task)
                tasks.setdefault(name, []).append(task)
    # Deadlines that make the story: the lead's six tasks run the whole range.
    for task, due_on in zip(
        tasks[LEAD],
        (date(2021, 5, 31), date(2021, 5, 31), date(2021, 6, 22), None, date(2021, 12, 31)),
        strict=False,
    ):
        task.due_on = due_on
    tasks["Phòng Giáo dục và Đào tạo"][0].due_on = date(2021, 5, 31)
    tasks["Phòng Tư pháp"][0].due_on = date(2021, 5, 31)
    tasks["Phòng Y tế"][0].due_on = date(2021, 9, 30)
    session.flush()

    deadlines = {}
    for kind, label, due_on in (
        ("quarterly", "Báo cáo quý I năm 2021", date(2021, 4, 15)),
        ("semiannual", "Báo cáo 6 tháng đầu năm 2021", date(2021, 6, 10)),
        ("annual", "Báo cáo năm 2021", date(2021, 11, 15)),
    ):
        deadline = ReportDeadline(
            plan_id=plan.id, kind=kind, label=label, due_on=due_on, source=DeadlineSource.PLAN
        )
        session.add(deadline)
        session.flush()
        deadlines[kind] = deadline
        session.add_all(
            ReportObligation(deadline_id=deadline.id, agency_id=row.id, due_on=due_on)
            for row in agencies.values()
        )
    session.flush()

    world = Scenario(
        plan=plan,
        lead=lead,
        report_to=report_to,
        agencies=agencies,
        q1=deadlines["quarterly"],
        semiannual=deadlines["semiannual"],
        annual=deadlines["annual"],
        lead_user=factories.user(
            session, UserRole.LEAD_OFFICE, lead, full_name="Nguyễn Thị Thường Trực"
        ),
        admin=factories.user(session, UserRole.ADMIN),
        leadership=factories.user(session, UserRole.LEADERSHIP),
        tasks=tasks,
    )
    for name, person in (
        (LEAD, "Trần Văn Lao Động"),
        ("Phòng Tài chính - Kế hoạch", "Lê Thị Tài Chính"),
        ("Phòng Nông nghiệp và Phát triển nông thôn", "Phạm Văn Nông"),
        ("Phòng Y tế", "Hoàng Thị Y Tế"),
        ("Phòng Giáo dục và Đào tạo", "Vũ Văn Giáo"),
        ("Phòng Tư pháp", "Đỗ Thị Tư Pháp"),
    ):
        world.focal[name] = factories.user(
            session, UserRole.FOCAL_POINT, agencies[name], full_name=person
        )
    session.flush()
    _live(session, world, settings=settings)
    return world


def _live(session: Session, world: Scenario, *, settings: Settings) -> None:
    """March to June 2021, through the tasks service, in date order."""
    clock = FixedClock(at(date(2021, 4, 1)))

    def update(
        name: str,
        index: int,
        day: date,
        state: TaskState,
        progress: int | None = None,
        narrative: str | None = None,
        reason: str | None = None,
    ) -> None:
        clock.set(at(day))
        task = world.task(name, index)
        task_service.update_status(
            session,
            user=world.focal[name],
            task_id=task.id,
            data=StatusUpdateCreate(
                version=task.version,
                state=state,
                progress=progress,
                narrative=narrative,
                blocked_reason=reason,
            ),
            files=[],
            clock=clock,
            settings=settings,
        )

    def obligation(name: str, deadline: ReportDeadline) -> ReportObligation:
        return (
            session.query(ReportObligation)
            .filter_by(deadline_id=deadline.id, agency_id=world.agencies[name].id)
            .one()
        )

    def submit(name: str, deadline: ReportDeadline, day: date, narrative: str) -> None:
        clock.set(at(day))
        row = obligation(name, deadline)
        task_service.submit_report(
            session,
            user=world.focal[name],
            obligation_id=row.id,
            data=ReportSubmit(version=row.version, narrative=narrative),
            files=[],
            clock=clock,
            settings=settings,
        )

    def review(name: str, deadline: ReportDeadline, day: date, comment: str | None) -> None:
        clock.set(at(day, 14))
        row = obligation(name, deadline)
        if comment is None:
            task_service.accept_report(
                session,
                user=world.lead_user,
                obligation_id=row.id,
                data=ReportAccept(version=row.version),
                clock=clock,
                settings=settings,
            )
        else:
            task_service.return_report(
                session,
                user=world.lead_user,
                obligation_id=row.id,
                data=ReportReturn(version=row.version, comment=comment),
                clock=clock,
                settings=settings,
            )

    lead, finance, farming = (
        LEAD,
        "Phòng Tài chính - Kế hoạch",
        "Phòng Nông nghiệp và Phát triển nông thôn",
    )
    update(lead, 0, date(2021, 4, 2), TaskState.DANG_THUC_HIEN, 50, "Đã rà soát danh sách hộ nghèo")
    submit(lead, world.q1, date(2021, 4, 12), "Quý I: đã triển khai kế hoạch đến các xã")
    submit(farming, world.q1, date(2021, 4, 14), "Quý I: đã hỗ trợ giống cây trồng")
    update(lead, 0, date(2021, 5, 20), TaskState.HOAN_THANH, None, "Đã hoàn thành rà soát")
    update(finance, 0, date(2021, 5, 25), TaskState.DANG_THUC_HIEN, 50, "Đã phân bổ 50% kinh phí")
    update(
        "Phòng Y tế",
        0,
        date(2021, 6, 5),
        TaskState.GAP_VUONG_MAC,
        20,
        "Đã lập danh sách cấp thẻ",
        "Chưa được cấp kinh phí mua thẻ bảo hiểm y tế",
    )
    submit(
        lead, world.semiannual, date(2021, 6, 8), "Đã hoàn thành rà soát hộ nghèo 6 tháng đầu năm"
    )
    submit(
        farming, world.semiannual, date(2021, 6, 9), "Đã hỗ trợ 120 hộ nghèo phát triển sản xuất"
    )
    update("Phòng Tư pháp", 0, date(2021, 6, 10), TaskState.DANG_THUC_HIEN, 30)
    review(lead, world.semiannual, date(2021, 6, 11), None)
    review(farming, world.semiannual, date(2021, 6, 11), "Thiếu số liệu hộ thoát nghèo")
    submit(finance, world.semiannual, date(2021, 6, 14), "Đã phân bổ kinh phí cho các xã")
    update(
        "Phòng Giáo dục và Đào tạo",
        0,
        date(2021, 6, 15),
        TaskState.HOAN_THANH,
        None,
        "Đã miễn học phí cho học sinh hộ nghèo",
    )
    session.flush()
