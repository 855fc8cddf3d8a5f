"""The Excel workbook, opened with openpyxl (and its chart read from the package's XML)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from service.config import Settings
from service.reports.schemas import ConsolidatedReport, ReportFormat
from tests.reports import world
from tests.reports.conftest import database_tasks, rendered

RED = "FFC7CE"
CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/main"


def workbook(report: ConsolidatedReport) -> tuple[Worksheet, Worksheet]:
    book = load_workbook(io.BytesIO(rendered(report, ReportFormat.XLSX)))
    assert book.sheetnames == ["Tổng hợp", "Nhiệm vụ"]
    return book["Tổng hợp"], book["Nhiệm vụ"]


def rows_of(sheet: Worksheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    header = [str(value) for value in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def find(sheet: Worksheet, value: str) -> int:
    """The row whose column B holds `value`."""
    for row in range(1, sheet.max_row + 1):
        if sheet.cell(row=row, column=2).value == value:
            return row
    raise AssertionError(f"{value!r} not in column B")


def test_task_sheet_has_frozen_header_filters_and_real_dates(
    report: ConsolidatedReport, session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    _, tasks = workbook(report)
    facts = database_tasks(session, plan_id=scenario.plan.id, due_soon_days=settings.due_soon_days)

    assert tasks.freeze_panes == "A2"
    assert tasks.auto_filter.ref == f"A1:P{len(facts) + 1}"
    rows = rows_of(tasks)
    assert len(rows) == len(facts) == 34
    by_key = {(row["Cơ quan, đơn vị"], row["Nhiệm vụ"]): row for row in rows}
    for fact in facts:
        row = by_key[(fact.agency, fact.text)]
        due = row["Thời hạn"]
        if fact.due_on is None:
            assert due is None
        else:
            assert isinstance(due, datetime)
            assert due.date() == fact.due_on
        assert row["Tiến độ (%)"] == fact.progress
        assert row["Người cập nhật"] == fact.updated_by
        assert row["Kết quả thực hiện"] == fact.narrative
    due_cell = tasks["H2"]
    assert due_cell.number_format == "DD/MM/YYYY"
    assert tasks["M2"].number_format == "DD/MM/YYYY HH:MM"


def test_overdue_rows_are_red_and_only_them(report: ConsolidatedReport) -> None:
    _, tasks = workbook(report)
    red = []
    for row in range(2, tasks.max_row + 1):
        fills = {tasks.cell(row=row, column=column).fill.fgColor.rgb for column in (1, 6, 16)}
        if any(str(fill).endswith(RED) for fill in fills):
            assert all(str(fill).endswith(RED) for fill in fills), "the whole row is red"
            red.append((tasks.cell(row=row, column=2).value, tasks.cell(row=row, column=10).value))
    assert sorted(red) == [
        (world.LEAD, "Quá hạn chưa hoàn thành"),
        ("Phòng Tư pháp", "Quá hạn chưa hoàn thành"),
    ]


def test_latest_update_is_local_time(report: ConsolidatedReport) -> None:
    _, tasks = workbook(report)
    blocked = next(row for row in rows_of(tasks) if row["Tình trạng"] == "Gặp vướng mắc")
    assert blocked["Cơ quan, đơn vị"] == "Phòng Y tế"
    # 09:00 in Hanoi, not 02:00 UTC.
    assert blocked["Cập nhật gần nhất"] == datetime(2021, 6, 5, 9, 0)
    assert blocked["Khó khăn, vướng mắc"] == "Chưa được cấp kinh phí mua thẻ bảo hiểm y tế"


def test_summary_figures(report: ConsolidatedReport) -> None:
    summary, _ = workbook(report)

    assert summary["A1"].value == "BÁO CÁO"
    assert summary["A2"].value.startswith(
        "Kết quả thực hiện Kế hoạch số 45/KH-UBND ngày 15/03/2021"
    )
    assert summary["A3"].value == "(6 tháng đầu năm 2021)"
    figures = {
        summary.cell(row=row, column=2).value: summary.cell(row=row, column=3)
        for row in range(5, 15)
    }
    assert figures["Kỳ báo cáo"].value == "Báo cáo 6 tháng đầu năm 2021 (hạn gửi 10/06/2021)"
    assert figures["Số liệu tính đến ngày"].value == datetime(2021, 6, 20)
    assert figures["Tổng số nhiệm vụ"].value == 34
    assert figures["Đã hoàn thành"].value == 2
    assert figures["Tỷ lệ hoàn thành"].value == pytest.approx(2 / 34)
    assert figures["Tỷ lệ hoàn thành"].number_format == "0.0%"
    assert figures["Số đơn vị phải báo cáo kỳ này"].value == 20
    assert figures["Số đơn vị báo cáo đúng hạn"].value == 1

    overdue = find(summary, "Quá hạn chưa hoàn thành")
    assert summary.cell(row=overdue, column=3).value == 2


def test_summary_agency_table(report: ConsolidatedReport) -> None:
    summary, _ = workbook(report)
    header = find(summary, "Cơ quan, đơn vị")
    labels = [summary.cell(row=header, column=column).value for column in range(1, 16)]
    assert labels[2:8] == [
        "Hoàn thành đúng hạn",
        "Hoàn thành quá hạn",
        "Đang thực hiện trong hạn",
        "Sắp đến hạn",
        "Quá hạn chưa hoàn thành",
        "Chưa có hạn",
    ]
    rows = {
        summary.cell(row=row, column=2).value: [
            summary.cell(row=row, column=column).value for column in range(1, 16)
        ]
        for row in range(header + 1, header + 21)
    }
    assert len(rows) == 20
    lead = rows[world.LEAD]
    # 1 done on time, 0 late, 2 in time, 1 due soon, 1 overdue, 1 without a due date.
    assert lead[2:8] == [1, 0, 2, 1, 1, 1]
    assert lead[8] == 6
    assert lead[10:13] == ["Đúng hạn", datetime(2021, 6, 8), 1.0]
    assert lead[13] == "Đã hoàn thành rà soát hộ nghèo 6 tháng đầu năm"
    farming = rows["Phòng Nông nghiệp và Phát triển nông thôn"]
    assert farming[10:13] == ["Bị trả lại", None, 0.5]
    assert farming[14] == "Thiếu số liệu hộ thoát nghèo"


def test_chart_of_timeliness_by_agency(report: ConsolidatedReport) -> None:
    """openpyxl does not load charts back: read the chart part of the package."""
    data = rendered(report, ReportFormat.XLSX)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        charts = [name for name in package.namelist() if name.startswith("xl/charts/chart")]
        assert len(charts) == 1
        chart = package.read(charts[0]).decode("utf-8")
    root = ElementTree.fromstring(chart)

    def values(tag: str) -> list[str | None]:
        return [element.get("val") for element in root.iter(f"{{{CHART}}}{tag}")]

    assert values("barDir") == ["bar"]
    assert values("grouping") == ["stacked"]
    series = list(root.iter(f"{{{CHART}}}ser"))
    assert len(series) == 6
    formulas = [element.text or "" for element in root.iter(f"{{{CHART}}}f")]
    # Series names from the table's header, categories from its agency column (20 rows).
    assert any(formula.startswith("'Tổng hợp'!$C$") for formula in formulas)
    spans = [
        (int(match[1]), int(match[2]))
        for formula in formulas
        if (match := re.fullmatch(r"'Tổng hợp'!\$B\$(\d+):\$B\$(\d+)", formula))
    ]
    assert spans
    assert all(last - first + 1 == 20 for first, last in spans)
    title = "".join(element.text or "" for element in root.iter(f"{{{DRAWING}}}t"))
    assert title == "Tiến độ nhiệm vụ theo cơ quan, đơn vị" + "Số nhiệm vụ"
