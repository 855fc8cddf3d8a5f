"""A district's plan as the tests' world: the Tuy Phước 2024 fixture plan, activated by hand.

Agencies, users and the plan's rows are written straight through the ORM (the import and review
flow is tested elsewhere); the assignments, tasks and report deadlines come from the fixture
plan as the parser reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from service.config import Settings
from service.models import (
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    DeadlineSource,
    Plan,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    SourceFormat,
    Task,
    TaskRole,
    User,
    UserRole,
)
from service.plans.parser import parse_bytes

FIXTURE = Path(__file__).parents[1] / "fixtures" / "plans" / "tuy-phuoc-2024.txt"

LEADER = "chutich@tuyphuoc.gov.vn"
LEAD_OFFICE = "ldtbxh@tuyphuoc.gov.vn"
FINANCE = "taichinh@tuyphuoc.gov.vn"
FINANCE_HEAD = "truongphong.tckh@tuyphuoc.gov.vn"
FARMING = "nongnghiep@tuyphuoc.gov.vn"
OTHER_LEADER = "chutich@phucat.gov.vn"


@dataclass
class World:
    plan: Plan
    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    obligations: dict[tuple[str, date], ReportObligation] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)


def _agency(session: Session, name: str, kind: AgencyKind, **fields: object) -> Agency:
    row = Agency(name=name, level=AgencyLevel.DISTRICT, kind=kind, **fields)
    session.add(row)
    session.flush()
    return row


def department(session: Session, name: str) -> Agency:
    """An office of another district, outside the plan."""
    return _agency(session, name, AgencyKind.DEPARTMENT)


def _user(session: Session, email: str, name: str, role: UserRole, agency: Agency | None) -> User:
    row = User(email=email, full_name=name, role=role, agency_id=agency.id if agency else None)
    session.add(row)
    session.flush()
    return row


def build_world(session: Session, *, task_due: dict[str, date] | None = None) -> World:
    """The plan, active, with report obligations for the finance and farming offices.

    `task_due` gives tasks a due date: "finance" (the finance office's task) and "farming",
    "farming-2" (the farming office's two tasks).
    """
    extraction = parse_bytes(
        FIXTURE.read_bytes(), FIXTURE.name, calendar=Settings().report_calendar()
    )
    committee = _agency(session, "Ủy ban nhân dân huyện Tuy Phước", AgencyKind.PEOPLE_COMMITTEE)
    other_committee = _agency(session, "Ủy ban nhân dân huyện Phù Cát", AgencyKind.PEOPLE_COMMITTEE)
    labour = _agency(
        session,
        "Phòng Lao động - Thương binh và Xã hội",
        AgencyKind.DEPARTMENT,
        parent_id=committee.id,
    )
    finance = _agency(
        session,
        "Phòng Tài chính - Kế hoạch",
        AgencyKind.DEPARTMENT,
        parent_id=committee.id,
        head_email=FINANCE_HEAD,
    )
    farming = _agency(
        session,
        "Phòng Nông nghiệp và Phát triển nông thôn",
        AgencyKind.DEPARTMENT,
        parent_id=committee.id,
    )
    plan = Plan(
        title=extraction.plan.title,
        number="145/KH-UBND",
        issuer=extraction.plan.issuer,
        start_year=2024,
        end_year=2024,
        status=PlanStatus.ACTIVE,
        lead_agency_id=labour.id,
        report_to_agency_id=labour.id,
        source_filename=FIXTURE.name,
        source_format=SourceFormat.TXT,
        source_sha256=extraction.source.sha256,
        extraction=extraction.to_json_dict(),
        warnings=[],
    )
    session.add(plan)
    session.flush()
    world = World(plan=plan)
    world.agencies = {
        "committee": committee,
        "labour": labour,
        "finance": finance,
        "farming": farming,
    }
    world.users = {
        email: _user(session, email, name, role, agency)
        for email, name, role, agency in [
            (LEADER, "Trần Văn Chủ", UserRole.LEADERSHIP, committee),
            (OTHER_LEADER, "Lê Thị Khác", UserRole.LEADERSHIP, other_committee),
            (LEAD_OFFICE, "Nguyễn Thị Thường Trực", UserRole.LEAD_OFFICE, labour),
            (FINANCE, "Phạm Văn Tài", UserRole.FOCAL_POINT, finance),
            (FARMING, "Võ Thị Nông", UserRole.FOCAL_POINT, farming),
        ]
    }
    task_due = task_due or {}
    blocks = {"2": ("finance", finance), "3": ("farming", farming)}
    for position, block in enumerate(extraction.assignments):
        if block.ordinal not in blocks:
            continue
        key, agency = blocks[block.ordinal]
        assignment = Assignment(
            plan_id=plan.id, ordinal=block.ordinal, heading=block.heading, position=position
        )
        session.add(assignment)
        session.flush()
        for number, item in enumerate(block.tasks, start=1):
            name = key if number == 1 else f"{key}-{number}"
            task = Task(
                plan_id=plan.id,
                assignment_id=assignment.id,
                agency_id=agency.id,
                text=item.text,
                role=TaskRole(item.role),
                due_on=task_due.get(name),
            )
            session.add(task)
            world.tasks[name] = task
    for deadline in extraction.deadlines:
        row = ReportDeadline(
            plan_id=plan.id,
            kind=deadline.kind,
            label=deadline.label,
            due_on=deadline.due_on,
            source=DeadlineSource(deadline.source),
        )
        session.add(row)
        session.flush()
        for key in ("finance", "farming"):
            obligation = ReportObligation(
                deadline_id=row.id, agency_id=world.agencies[key].id, due_on=deadline.due_on
            )
            session.add(obligation)
            world.obligations[(key, deadline.due_on)] = obligation
    session.flush()
    return world
