"""Rows for the auth tests and the authorization walk: agencies, people, and a plan of agency A.

`tests/factories.agency()` is not used: it names enum members the model does not have.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from service.auth.service import issue_api_token
from service.models import (
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    Attachment,
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
from tests import factories

_serial = itertools.count(1)

# Written into every private row of agency A: no response to agency B may contain it.
SECRET = "MAT-CUA-A"


def agency(session: Session, name: str | None = None, **fields: object) -> Agency:
    row = Agency(
        name=name or f"Phòng Thử nghiệm {next(_serial)}",
        level=fields.pop("level", AgencyLevel.DISTRICT),
        kind=fields.pop("kind", AgencyKind.DEPARTMENT),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def plan(
    session: Session, *, lead: Agency, task_agencies: list[Agency], label: str = ""
) -> tuple[Plan, list[Task], ReportDeadline, list[ReportObligation]]:
    """An active plan led by `lead`, one task and one report obligation per agency given."""
    number = next(_serial)
    row = Plan(
        title=f"Kế hoạch {label} {number}",
        status=PlanStatus.ACTIVE,
        lead_agency_id=lead.id,
        source_filename=f"ke-hoach-{number}.txt",
        source_format=SourceFormat.TXT,
        source_sha256=f"{number:064x}",
        extraction={},
        start_year=2025,
        end_year=2025,
    )
    session.add(row)
    session.flush()
    assignment = Assignment(
        plan_id=row.id, ordinal="1", heading=f"Khối {label}", position=0, is_lead=False
    )
    session.add(assignment)
    session.flush()
    tasks = []
    for member in task_agencies:
        task = Task(
            plan_id=row.id,
            assignment_id=assignment.id,
            agency_id=member.id,
            text=f"Nhiệm vụ {label} của {member.name}",
            role=TaskRole.CHU_TRI,
            due_on=date(2025, 12, 31),
        )
        session.add(task)
        tasks.append(task)
    deadline = ReportDeadline(
        plan_id=row.id,
        kind="annual",
        label=f"Báo cáo năm 2025 {label}",
        due_on=date(2025, 11, 10),
        source=DeadlineSource.PLAN,
    )
    session.add(deadline)
    session.flush()
    obligations = []
    for member in task_agencies:
        obligation = ReportObligation(
            deadline_id=deadline.id,
            agency_id=member.id,
            due_on=deadline.due_on,
            narrative=f"Báo cáo {label}",
        )
        session.add(obligation)
        obligations.append(obligation)
    session.flush()
    return row, tasks, deadline, obligations


@dataclass
class Scenario:
    agency_a: Agency
    agency_b: Agency
    admin: User
    leadership: User
    lead_a: User
    focal_a: User
    lead_b: User
    focal_b: User
    plan_a: Plan
    task_a: Task
    deadline_a: ReportDeadline
    obligation_a: ReportObligation
    assignment_a: Assignment
    update_a: StatusUpdate
    attachment_a: Attachment
    token_a_id: int
    plan_b: Plan


def build(session: Session) -> Scenario:
    """Two agencies; a plan led by A with tasks for A (every private text carries SECRET); a
    plan led by B for B, so B's lists are not trivially empty."""
    agency_a = agency(session, "Phòng Thử nghiệm A")
    agency_b = agency(session, "Phòng Thử nghiệm B")
    people = {
        "admin": factories.user(session, UserRole.ADMIN, email="quantri@example.vn"),
        "leadership": factories.user(session, UserRole.LEADERSHIP, email="lanhdao@example.vn"),
        "lead_a": factories.user(
            session, UserRole.LEAD_OFFICE, agency_a, email=f"thuong-truc-{SECRET.lower()}@a.vn"
        ),
        "focal_a": factories.user(
            session,
            UserRole.FOCAL_POINT,
            agency_a,
            email=f"dau-moi-{SECRET.lower()}@a.vn",
            full_name=f"Đầu mối {SECRET}",
            phone="0900000001",
        ),
        "lead_b": factories.user(session, UserRole.LEAD_OFFICE, agency_b, email="tt@b.vn"),
        "focal_b": factories.user(session, UserRole.FOCAL_POINT, agency_b, email="dm@b.vn"),
    }
    plan_a, tasks_a, deadline_a, obligations_a = plan(
        session, lead=agency_a, task_agencies=[agency_a], label=SECRET
    )
    plan_b, _, _, _ = plan(session, lead=agency_b, task_agencies=[agency_b], label="B")
    task_a = tasks_a[0]
    update_a = StatusUpdate(
        task_id=task_a.id,
        user_id=people["focal_a"].id,
        state=TaskState.DANG_THUC_HIEN,
        progress=40,
        narrative=f"Tiến độ {SECRET}",
    )
    session.add(update_a)
    session.flush()
    attachment_a = Attachment(
        status_update_id=update_a.id,
        original_filename=f"minh-chung-{SECRET}.pdf",
        stored_name=f"walk-{next(_serial)}.pdf",
        content_type="application/pdf",
        size_bytes=4,
        sha256="0" * 64,
    )
    session.add(attachment_a)
    _, token_a = issue_api_token(session, user=people["focal_a"], name=f"Mã {SECRET}")
    session.flush()
    return Scenario(
        agency_a=agency_a,
        agency_b=agency_b,
        plan_a=plan_a,
        task_a=task_a,
        deadline_a=deadline_a,
        obligation_a=obligations_a[0],
        assignment_a=task_a.assignment,
        update_a=update_a,
        attachment_a=attachment_a,
        token_a_id=token_a.id,
        plan_b=plan_b,
        **people,
    )
