"""The report reads the database in a fixed number of statements, whatever the plan's size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import UserRole
from service.reports import service as report_service
from service.reports.schemas import Submission
from tests import factories
from tests.reports import world


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(
    session: Session, engine: Engine, settings: Settings, *, agencies: int
) -> tuple[int, int]:
    """(statements issued, agencies in the report) for a plan of `agencies` agencies, as the
    lead office asks for the report of the first deadline."""
    lead = world.agency(session, f"Phòng Lao động {agencies}")
    lead_user = factories.user(session, UserRole.LEAD_OFFICE, lead)
    plan, deadlines = world.synthetic_plan(
        session, agencies=agencies, tasks_per_agency=3, lead=lead
    )
    session.commit()
    session.expunge_all()
    clock = FixedClock(world.at(date(2025, 6, 20)))
    with counting(engine) as statements:
        report = report_service.build_report(
            session,
            user=lead_user,
            plan_id=plan.id,
            deadline_id=deadlines[0].id,
            clock=clock,
            settings=settings,
        )
    assert {agency.submission for agency in report.agencies} == {Submission.ON_TIME}
    return len(statements), len(report.agencies)


def test_statements_do_not_grow_with_agencies(
    session: Session, engine: Engine, settings: Settings
) -> None:
    few, few_agencies = statements_for(session, engine, settings, agencies=5)
    many, many_agencies = statements_for(session, engine, settings, agencies=50)

    assert (few_agencies, many_agencies) == (5, 50)
    assert few == many
    assert few <= 6
