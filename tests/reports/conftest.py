"""The fixture scenario, committed, and the report the lead office would download from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import Agency, StatusUpdate, Task, User
from service.reports import service as report_service
from service.reports.schemas import ConsolidatedReport, ReportFormat
from service.tasks.timeliness import Timeliness, timeliness
from tests.reports import world


@pytest.fixture
def scenario(session: Session, settings: Settings) -> world.Scenario:
    built = world.scenario(session, settings=settings)
    session.commit()
    return built


@pytest.fixture
def report(session: Session, settings: Settings, scenario: world.Scenario) -> ConsolidatedReport:
    """The six-month report as the lead office asks for it on 20/06/2021."""
    return report_service.build_report(
        session,
        user=scenario.lead_user,
        plan_id=scenario.plan.id,
        deadline_id=scenario.semiannual.id,
        clock=FixedClock(world.NOW),
        settings=settings,
    )


def rendered(report: ConsolidatedReport, report_format: ReportFormat) -> bytes:
    return report_service.render(report, report_format).content


@dataclass(frozen=True)
class TaskFacts:
    """A task as the database holds it, and what every format must say about it."""

    agency: str
    text: str
    due_on: date | None
    state: str
    timeliness: Timeliness
    progress: int
    completed_on: date | None
    updated_by: str | None
    narrative: str | None
    blocked_reason: str | None


def database_tasks(session: Session, *, plan_id: int, due_soon_days: int) -> list[TaskFacts]:
    """Every task of the plan read straight from the tables, with timeliness on 20/06/2021."""
    facts = []
    tasks = session.execute(
        select(Task, Agency.name)
        .join(Agency, Agency.id == Task.agency_id)
        .where(Task.plan_id == plan_id)
        .order_by(Task.id)  # the order activation created them in: the plan's order
    ).all()
    for task, agency_name in tasks:
        updates = session.execute(
            select(StatusUpdate, User.full_name)
            .join(User, User.id == StatusUpdate.user_id)
            .where(StatusUpdate.task_id == task.id)
            .order_by(StatusUpdate.created_at)
        ).all()
        told = [update.narrative for update, _ in updates if update.narrative]
        facts.append(
            TaskFacts(
                agency=agency_name,
                text=task.text,
                due_on=task.due_on,
                state=task.state.value,
                timeliness=timeliness(
                    state=task.state,
                    due_on=task.due_on,
                    completed_on=task.completed_on,
                    today=world.TODAY,
                    due_soon_days=due_soon_days,
                ),
                progress=task.progress,
                completed_on=task.completed_on,
                updated_by=updates[-1][1] if updates else None,
                narrative=told[-1] if told else None,
                blocked_reason=task.blocked_reason,
            )
        )
    return facts
