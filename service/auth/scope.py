"""Who sees what, as SQL conditions: authorization lives in the queries.

- administrator and leadership: everything (leadership read-only: see `can_write`);
- lead office: the plans its agency leads, with all their tasks and obligations, plus its own;
- focal point: its own agency's tasks and obligations, and the plans they belong to.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, bindparam, false, or_, select, true

from service.models import Plan, ReportDeadline, ReportObligation, Task, User, UserRole


def can_write(user: User) -> bool:
    return user.role != UserRole.LEADERSHIP


def sees_everything(user: User) -> bool:
    return user.role in (UserRole.ADMIN, UserRole.LEADERSHIP)


def _led_plan_ids(user: User):  # type: ignore[no-untyped-def]
    return select(Plan.id).where(Plan.lead_agency_id == user.agency_id)


def plan_scope(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return true()
    if user.agency_id is None:
        return false()
    own = Plan.id.in_(select(Task.plan_id).where(Task.agency_id == user.agency_id)) | Plan.id.in_(
        select(ReportDeadline.plan_id)
        .join(ReportObligation, ReportObligation.deadline_id == ReportDeadline.id)
        .where(ReportObligation.agency_id == user.agency_id)
    )
    if user.role == UserRole.LEAD_OFFICE:
        return or_(Plan.lead_agency_id == user.agency_id, own)
    return own


class Scope(NamedTuple):
    """An authorization condition built once, with the caller's agency as a bound parameter.

    A statement built on it is the same for every caller of a kind, so the statements that
    every request runs (one task by id) are built once too; `params` go with the execution.
    """

    kind: str
    condition: ColumnElement[bool]
    params: dict[str, Any]


SCOPE_AGENCY = "scope_agency_id"


def _task_kind(user: User) -> str:
    if sees_everything(user):
        return "everything"
    if user.agency_id is None:
        return "nothing"
    return "lead_office" if user.role == UserRole.LEAD_OFFICE else "agency"


def _task_condition(kind: str, agency: Any) -> ColumnElement[bool]:
    """The rule, for a kind of caller and their agency (a value or a bound parameter)."""
    if kind == "everything":
        return true()
    if kind == "nothing":
        return false()
    if kind == "lead_office":
        led = select(Plan.id).where(Plan.lead_agency_id == agency)
        return or_(Task.agency_id == agency, Task.plan_id.in_(led))
    return Task.agency_id == agency


_TASK_SCOPES = {
    kind: _task_condition(kind, bindparam(SCOPE_AGENCY, type_=Integer()))
    for kind in ("everything", "nothing", "lead_office", "agency")
}


def task_scope_of(user: User) -> Scope:
    """The tasks `user` may see, as a `Scope`."""
    kind = _task_kind(user)
    return Scope(kind, _TASK_SCOPES[kind], {SCOPE_AGENCY: user.agency_id})


def task_scope(user: User) -> ColumnElement[bool]:
    """The tasks `user` may see, as a condition on `Task` with the values in it."""
    return _task_condition(_task_kind(user), user.agency_id)


def obligation_scope(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return true()
    if user.agency_id is None:
        return false()
    if user.role == UserRole.LEAD_OFFICE:
        led = select(ReportDeadline.id).where(ReportDeadline.plan_id.in_(_led_plan_ids(user)))
        return or_(
            ReportObligation.agency_id == user.agency_id, ReportObligation.deadline_id.in_(led)
        )
    return ReportObligation.agency_id == user.agency_id


def focal_point_scope(user: User) -> ColumnElement[bool]:
    """Whose focal points (as a condition on `User.agency_id`) this user may look up.

    The lead office sees the focal points of every agency with a task or a report in a plan it
    leads, to follow up with them; a focal point sees its own agency's colleagues.
    """
    if sees_everything(user):
        return true()
    if user.agency_id is None:
        return false()
    own = User.agency_id == user.agency_id
    if user.role != UserRole.LEAD_OFFICE:
        return own
    led = _led_plan_ids(user)
    with_tasks = select(Task.agency_id).where(Task.plan_id.in_(led))
    with_reports = (
        select(ReportObligation.agency_id)
        .join(ReportDeadline, ReportDeadline.id == ReportObligation.deadline_id)
        .where(ReportDeadline.plan_id.in_(led))
    )
    return or_(own, User.agency_id.in_(with_tasks), User.agency_id.in_(with_reports))


def leads_plan(user: User, plan: Plan) -> bool:
    """May this user import, review, activate, urge and accept reports for this plan?"""
    if user.role == UserRole.ADMIN:
        return True
    return user.role == UserRole.LEAD_OFFICE and plan.lead_agency_id == user.agency_id
