"""The report's rules at their edges: which round "as of today" means, rounds not yet due, waived
reports, reports sent early, and plans with nothing to report yet."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import (
    Assignment,
    ObligationStatus,
    Plan,
    PlanStatus,
    ReportObligation,
    SourceFormat,
)
from service.reports import service as report_service
from service.reports.schemas import ConsolidatedReport, ReportFormat, Submission
from service.tasks import service as task_service
from service.tasks.schemas import ReportSubmit
from tests.reports import world


def build(
    session: Session,
    settings: Settings,
    plan_id: int,
    *,
    deadline_id: int | None = None,
    day: date = world.TODAY,
) -> ConsolidatedReport:
    return report_service.build_report(
        session,
        user=None,
        plan_id=plan_id,
        deadline_id=deadline_id,
        clock=FixedClock(world.at(day, 8)),
        settings=settings,
    )


def by_name(report: ConsolidatedReport) -> dict[str, Submission]:
    return {agency.name: agency.submission for agency in report.agencies}


def test_as_of_today_follows_the_calendar(
    session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    before_any = build(session, settings, scenario.plan.id, day=date(2021, 4, 1))
    after_q1 = build(session, settings, scenario.plan.id, day=date(2021, 5, 1))
    on_due_day = build(session, settings, scenario.plan.id, day=date(2021, 6, 10))

    assert before_any.deadline is None
    assert before_any.period == "tính đến ngày 01/04/2021"
    assert set(by_name(before_any).values()) == {Submission.NOT_REQUIRED}
    assert after_q1.deadline is not None
    assert after_q1.deadline.id == scenario.q1.id
    # On the due day itself, that round is the one reported on; unsent reports are not late yet.
    assert on_due_day.deadline is not None
    assert on_due_day.deadline.id == scenario.semiannual.id
    assert by_name(on_due_day)["Phòng Y tế"] == Submission.NOT_DUE


def test_a_round_not_yet_due(
    session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    report = build(session, settings, scenario.plan.id, deadline_id=scenario.annual.id)

    assert report.period == "năm 2021"
    assert set(by_name(report).values()) == {Submission.NOT_DUE}
    assert report.summary.reports_owed == 20
    assert report.summary.on_time_rate == 0


def test_a_report_sent_early_counts_as_on_time_at_once(
    session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    finance = "Phòng Tài chính - Kế hoạch"
    obligation = session.scalars(
        select(ReportObligation).where(
            ReportObligation.deadline_id == scenario.annual.id,
            ReportObligation.agency_id == scenario.agencies[finance].id,
        )
    ).one()
    task_service.submit_report(
        session,
        user=scenario.focal[finance],
        obligation_id=obligation.id,
        data=ReportSubmit(version=obligation.version, narrative="Báo cáo năm gửi sớm"),
        files=[],
        clock=FixedClock(world.at(date(2021, 6, 19))),
        settings=settings,
    )
    session.commit()

    report = build(session, settings, scenario.plan.id, deadline_id=scenario.semiannual.id)

    agency = next(agency for agency in report.agencies if agency.name == finance)
    # Q1 missing, six-month report late, annual report sent before its due day.
    assert (agency.reports_on_time, agency.reports_due) == (1, 3)
    assert agency.on_time_rate == pytest.approx(100 / 3)


def test_waived_reports_are_left_out_of_every_rate(
    session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    health = scenario.agencies["Phòng Y tế"]
    for obligation in session.scalars(
        select(ReportObligation).where(ReportObligation.agency_id == health.id)
    ):
        obligation.status = ObligationStatus.WAIVED
    session.commit()

    report = build(session, settings, scenario.plan.id, deadline_id=scenario.semiannual.id)

    agency = next(agency for agency in report.agencies if agency.id == health.id)
    assert agency.submission == Submission.WAIVED
    assert (agency.reports_due, agency.on_time_rate) == (0, None)
    assert report.summary.reports_owed == 19
    assert report.summary.on_time_rate == pytest.approx(100 / 19)


def test_a_plan_without_tasks_or_deadlines_still_renders(
    session: Session, settings: Settings
) -> None:
    lead = world.agency(session, "Phòng Lao động - Thương binh và Xã hội")
    plan = Plan(
        title=None,
        status=PlanStatus.ACTIVE,
        lead_agency_id=lead.id,
        source_filename="trong.txt",
        source_format=SourceFormat.TXT,
        source_sha256="e" * 64,
        extraction={},
    )
    session.add(plan)
    session.flush()
    session.add(Assignment(plan_id=plan.id, ordinal="1", heading="Trống", position=0))
    session.commit()

    report = build(session, settings, plan.id)

    assert report.agencies == []
    assert report.summary.completion_pct is None
    document = Document(io.BytesIO(report_service.render(report, ReportFormat.DOCX).content))
    paragraphs = [p.text for p in document.paragraphs]
    assert "Kết quả thực hiện Kế hoạch" in paragraphs
    assert "Kế hoạch chưa đến kỳ báo cáo nào." in paragraphs
    book = load_workbook(io.BytesIO(report_service.render(report, ReportFormat.XLSX).content))
    assert book["Nhiệm vụ"].max_row == 1
    csv = report_service.render(report, ReportFormat.CSV).content.decode("utf-8-sig")
    assert csv.count("\r\n") == 1
    page = report_service.render(report, ReportFormat.HTML).content.decode()
    assert "Kế hoạch chưa đến kỳ báo cáo nào." in page
