"""The report as a web page: same figures as the other formats, and typed text escaped."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import TaskState
from service.reports import service as report_service
from service.reports.schemas import ConsolidatedReport, ReportFormat
from service.tasks import service as task_service
from service.tasks.schemas import StatusUpdateCreate
from tests.reports import world
from tests.reports.conftest import rendered


class Tables(HTMLParser):
    """Cell texts of every table with an id, and the class of every row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.row_classes: list[tuple[str | None, list[str]]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._row_class: str | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self._table = attributes.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr":
            self._row, self._row_class = [], attributes.get("class")
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table].append(self._row)
            self.row_classes.append((self._row_class, self._row))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(data: bytes) -> Tables:
    tables = Tables()
    tables.feed(data.decode("utf-8"))
    return tables


def test_page_has_the_title_and_figures(report: ConsolidatedReport) -> None:
    page = rendered(report, ReportFormat.HTML).decode("utf-8")
    assert '<html lang="vi">' in page
    assert "<h1>BÁO CÁO</h1>" in page
    assert "<p>(6 tháng đầu năm 2021)</p>" in page
    assert "Tỷ lệ báo cáo đúng hạn: 5%." in page
    tables = parse(page.encode()).tables
    summary = {row[1]: row[2] for row in tables["summary"][1:]}
    assert summary["Quá hạn chưa hoàn thành"] == "2"
    assert summary["Tổng cộng"] == "34"
    agencies = {row[1]: row for row in tables["agencies"][1:]}
    assert len(agencies) == 20
    assert agencies[world.LEAD][2:] == ["Đúng hạn", "08/06/2021", "6", "1", "1", "16,7%", "100%"]
    assert agencies["Phòng Nông nghiệp và Phát triển nông thôn"][2:4] == ["Bị trả lại", ""]


def test_overdue_rows_are_marked(report: ConsolidatedReport) -> None:
    rows = parse(rendered(report, ReportFormat.HTML)).row_classes
    overdue = [cells for css, cells in rows if css == "overdue"]
    assert len(overdue) == 2
    assert all(cells[4] == "Quá hạn chưa hoàn thành" for cells in overdue)


def test_download_links_only_when_served(report: ConsolidatedReport) -> None:
    saved = rendered(report, ReportFormat.HTML).decode("utf-8")
    assert "format=docx" not in saved
    served = report_service.render(report, ReportFormat.HTML, links=True).content.decode()
    deadline = report.deadline
    assert deadline is not None
    assert f'href="?deadline_id={deadline.id}&amp;format=docx"' in served
    assert f'href="?deadline_id={deadline.id}&amp;format=xlsx"' in served


def test_typed_text_is_escaped(
    session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    task = scenario.task("Phòng Tư pháp")
    clock = FixedClock(world.at(date(2021, 6, 18)))
    task_service.update_status(
        session,
        user=scenario.focal["Phòng Tư pháp"],
        task_id=task.id,
        data=StatusUpdateCreate(
            version=task.version,
            state=TaskState.DANG_THUC_HIEN,
            progress=40,
            narrative='<script>alert("x")</script> & <b>xong</b>',
        ),
        files=[],
        clock=clock,
        settings=settings,
    )
    session.commit()
    report = report_service.build_report(
        session,
        user=scenario.admin,
        plan_id=scenario.plan.id,
        deadline_id=None,
        clock=FixedClock(world.NOW),
        settings=settings,
    )
    page = rendered(report, ReportFormat.HTML).decode("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;xong&lt;/b&gt;" in page
