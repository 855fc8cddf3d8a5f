"""SQL of the consolidated report: a fixed handful of statements, whatever the plan's size.

A report reads the plan, its deadlines, all its tasks (with each task's latest update) and all
its report obligations: four statements for 5 agencies or for 500. Nothing is loaded lazily
per agency or per task; rows are plain columns, not ORM objects, to keep 2,000 tasks cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session, aliased

from service.models import (
    Agency,
    Assignment,
    Plan,
    ReportDeadline,
    ReportObligation,
    StatusUpdate,
    Task,
    User,
)
from service.tasks.timeliness import timeliness_sql

# A result row of any shape: columns are read by name.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def plan(session: Session, *, plan_id: int, scope: ColumnElement[bool]) -> AnyRow | None:
    """The plan (if in `scope`) with the names of its lead and report-to agencies."""
    lead = aliased(Agency)
    report_to = aliased(Agency)
    statement = (
        select(
            Plan,
            lead.name.label("lead_name"),
            lead.short_name.label("lead_short_name"),
            report_to.name.label("report_to_name"),
        )
        .outerjoin(lead, lead.id == Plan.lead_agency_id)
        .outerjoin(report_to, report_to.id == Plan.report_to_agency_id)
        .where(Plan.id == plan_id, scope)
    )
    return session.execute(statement).first()


def deadlines(session: Session, *, plan_id: int) -> Sequence[ReportDeadline]:
    return session.scalars(
        select(ReportDeadline)
        .where(ReportDeadline.plan_id == plan_id)
        .order_by(ReportDeadline.due_on, ReportDeadline.id)
    ).all()


def tasks(session: Session, *, plan_id: int, today: date, due_soon_days: int) -> Sequence[AnyRow]:
    """Every task of the plan in the document's order, with its derived timeliness, its latest
    status update (when, by whom) and its latest narrative, in one statement."""
    # Each task's newest update and newest narrative, found through the (task_id, created_at)
    # index per task: cheaper on both databases than ranking every update of the plan.
    newest_first = (StatusUpdate.created_at.desc(), StatusUpdate.id.desc())
    latest_id = (
        select(StatusUpdate.id)
        .where(StatusUpdate.task_id == Task.id)
        .order_by(*newest_first)
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )
    told = aliased(StatusUpdate, name="told")
    narrative = (
        select(told.narrative)
        .where(told.task_id == Task.id, told.narrative.is_not(None), told.narrative != "")
        .order_by(told.created_at.desc(), told.id.desc())
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )
    latest = aliased(StatusUpdate, name="latest")
    statement = (
        select(
            Task.id,
            Task.agency_id,
            Agency.name.label("agency_name"),
            Assignment.ordinal,
            Assignment.heading,
            Assignment.position,
            Task.text,
            Task.role,
            Task.due_on,
            Task.state,
            timeliness_sql(today=today, due_soon_days=due_soon_days).label("timeliness"),
            Task.progress,
            Task.completed_on,
            Task.blocked_reason,
            latest.created_at.label("updated_at"),
            User.full_name.label("updated_by"),
            narrative.label("narrative"),
        )
        .join(Agency, Agency.id == Task.agency_id)
        .join(Assignment, Assignment.id == Task.assignment_id)
        .outerjoin(latest, latest.id == latest_id)
        .outerjoin(User, User.id == latest.user_id)
        .where(Task.plan_id == plan_id)
        .order_by(Assignment.position, Task.id)
    )
    return session.execute(statement).all()


def obligations(session: Session, *, plan_id: int) -> Sequence[AnyRow]:
    """Every report obligation of the plan, across all its deadlines, with the agency's name."""
    statement = (
        select(
            ReportObligation.id,
            ReportObligation.deadline_id,
            ReportObligation.agency_id,
            Agency.name.label("agency_name"),
            ReportObligation.due_on,
            ReportObligation.status,
            ReportObligation.submitted_at,
            ReportObligation.narrative,
            ReportObligation.review_comment,
        )
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .join(Agency, Agency.id == ReportObligation.agency_id)
        .where(ReportDeadline.plan_id == plan_id)
        .order_by(ReportObligation.id)
    )
    return session.execute(statement).all()
