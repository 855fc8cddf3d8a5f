"""ORM rows for task and report tests: a plan with agencies, tasks, a deadline and obligations.

Built directly (not through the plan import), so these tests do not depend on the importer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import (
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    Attachment,
    AuditLog,
    DeadlineSource,
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
from tests.factories import auth_headers, user

_serial = itertools.count(1)


def add_agency(session: Session, name: str | None = None) -> Agency:
    row = Agency(
        name=name or f"Phòng Thử nghiệm {next(_serial)}",
        level=AgencyLevel.DISTRICT,
        kind=AgencyKind.DEPARTMENT,
    )
    session.add(row)
    session.flush()
    return row


def add_plan(
    session: Session,
    *,
    lead: Agency,
    title: str = "Kế hoạch thực hiện công tác giảm nghèo năm 2025",
    status: PlanStatus = PlanStatus.ACTIVE,
) -> Plan:
    serial = next(_serial)
    plan = Plan(
        title=title,
        number=f"{serial}/KH-UBND",
        status=status,
        lead_agency_id=lead.id,
        source_filename=f"ke-hoach-{serial}.txt",
        source_format=SourceFormat.TXT,
        source_sha256=f"{serial:064x}",
        extraction={"schema": "plan-extraction/1"},
    )
    session.add(plan)
    session.flush()
    plan.assignments.append(Assignment(ordinal="1", heading="Các phòng, ban", position=0))
    session.flush()
    return plan


def add_task(
    session: Session,
    plan: Plan,
    agency: Agency,
    *,
    text: str | None = None,
    due_on: date | None = None,
    state: TaskState = TaskState.CHUA_TRIEN_KHAI,
    progress: int = 0,
    completed_on: date | None = None,
) -> Task:
    task = Task(
        plan_id=plan.id,
        assignment_id=plan.assignments[0].id,
        agency_id=agency.id,
        text=text or f"Nhiệm vụ số {next(_serial)}: tuyên truyền chính sách giảm nghèo",
        role=TaskRole.CHU_TRI,
        due_on=due_on,
        state=state,
        progress=progress,
        completed_on=completed_on,
    )
    session.add(task)
    session.flush()
    return task


def add_deadline(
    session: Session, plan: Plan, *, due_on: date, label: str = "Báo cáo 6 tháng đầu năm 2025"
) -> ReportDeadline:
    deadline = ReportDeadline(
        plan_id=plan.id, kind="semiannual", label=label, due_on=due_on, source=DeadlineSource.PLAN
    )
    session.add(deadline)
    session.flush()
    return deadline


def add_obligation(session: Session, deadline: ReportDeadline, agency: Agency) -> ReportObligation:
    obligation = ReportObligation(
        deadline_id=deadline.id, agency_id=agency.id, due_on=deadline.due_on
    )
    session.add(obligation)
    session.flush()
    return obligation


@dataclass
class World:
    """A district plan led by the labour office, with tasks for health, and an outsider.

    - `lead`: Phòng Lao động - Thương binh và Xã hội, the plan's lead (standing) agency;
    - `health`: Phòng Y tế, with tasks and a report obligation in the plan;
    - `outsider`: Phòng Tư pháp, nothing in this plan, with its own plan and task elsewhere.
    """

    lead: Agency
    health: Agency
    outsider: Agency
    plan: Plan
    other_plan: Plan
    health_task: Task
    lead_task: Task
    outsider_task: Task
    deadline: ReportDeadline
    health_report: ReportObligation
    lead_report: ReportObligation
    users: dict[str, User] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def build_world(session: Session, *, report_due_on: date = date(2025, 6, 10)) -> World:
    """The scenario most tests start from, committed, with a user and API token per role:
    admin, leadership, lead (lead office of the plan's lead agency), health (focal point),
    outsider (focal point of the outsider), outsider_lead (lead office of the outsider)."""
    lead = add_agency(session, "Phòng Lao động - Thương binh và Xã hội")
    health = add_agency(session, "Phòng Y tế")
    outsider = add_agency(session, "Phòng Tư pháp")
    plan = add_plan(session, lead=lead)
    other_plan = add_plan(session, lead=outsider, title="Kế hoạch phổ biến pháp luật năm 2025")
    health_task = add_task(
        session,
        plan,
        health,
        text="Khám sức khỏe định kỳ cho người cao tuổi thuộc hộ nghèo",
        due_on=date(2025, 9, 30),
    )
    lead_task = add_task(
        session,
        plan,
        lead,
        text="Tổng hợp kết quả thực hiện, báo cáo Ủy ban nhân dân huyện",
        due_on=date(2025, 12, 15),
    )
    outsider_task = add_task(session, other_plan, outsider, text="Phổ biến Luật Hòa giải ở cơ sở")
    deadline = add_deadline(session, plan, due_on=report_due_on)
    health_report = add_obligation(session, deadline, health)
    lead_report = add_obligation(session, deadline, lead)
    world = World(
        lead=lead,
        health=health,
        outsider=outsider,
        plan=plan,
        other_plan=other_plan,
        health_task=health_task,
        lead_task=lead_task,
        outsider_task=outsider_task,
        deadline=deadline,
        health_report=health_report,
        lead_report=lead_report,
    )
    roles = {
        "admin": (UserRole.ADMIN, None),
        "leadership": (UserRole.LEADERSHIP, None),
        "lead": (UserRole.LEAD_OFFICE, lead),
        "health": (UserRole.FOCAL_POINT, health),
        "outsider": (UserRole.FOCAL_POINT, outsider),
        "outsider_lead": (UserRole.LEAD_OFFICE, outsider),
    }
    for name, (role, agency) in roles.items():
        world.users[name] = user(session, role, agency, full_name=f"Cán bộ {name}")
        world.headers[name] = auth_headers(session, world.users[name])
    session.commit()
    return world


def written(session: Session, data_dir: Path) -> dict[str, object]:
    """What requests can write: history, audit, attachments, row versions, stored files.

    Equal before and after a refused request means it wrote nothing.
    """
    session.expire_all()
    return {
        "status_updates": session.scalar(select(func.count()).select_from(StatusUpdate)),
        "audit_log": session.scalar(select(func.count()).select_from(AuditLog)),
        "attachments": session.scalar(select(func.count()).select_from(Attachment)),
        "tasks": session.execute(
            select(Task.id, Task.version, Task.state, Task.progress).order_by(Task.id)
        ).all(),
        "obligations": session.execute(
            select(ReportObligation.id, ReportObligation.version, ReportObligation.status).order_by(
                ReportObligation.id
            )
        ).all(),
        "files": stored_files(data_dir),
    }


def stored_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in data_dir.rglob("*") if path.is_file())
