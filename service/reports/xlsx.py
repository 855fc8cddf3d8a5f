"""The report as an Excel workbook: a summary sheet with a chart, and a sheet of every task.

- "Tổng hợp": the plan, the period, the overall figures, timeliness counts, one row per agency
  (timeliness counts, completion, its report for the deadline, its on-time rate over all
  deadlines so far) and under it a stacked bar chart of timeliness by agency.
- "Nhiệm vụ": one row per task with a frozen header and filters; dates are real dates and
  percentages real numbers, so Excel sorts and sums them; overdue tasks are filled red.
"""

from __future__ import annotations

import io
from copy import copy
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from service.clock import to_local
from service.i18n import t
from service.reports import formatting as fmt
from service.reports.schemas import ConsolidatedReport, ReportTask
from service.tasks.timeliness import Timeliness

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

DATE_FORMAT = "DD/MM/YYYY"
MOMENT_FORMAT = "DD/MM/YYYY HH:MM"
PERCENT_FORMAT = "0.0%"

# Excel's "bad" red: the fill people already read as "late".
OVERDUE_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
OVERDUE_FONT = Font(color="9C0006")
HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

# One colour per timeliness, from done-on-time (green) to overdue (red).
TIMELINESS_COLOURS = {
    Timeliness.HOAN_THANH_DUNG_HAN: "2E7D32",
    Timeliness.HOAN_THANH_QUA_HAN: "9CCC65",
    Timeliness.TRONG_HAN: "42A5F5",
    Timeliness.SAP_DEN_HAN: "FFB300",
    Timeliness.QUA_HAN: "D32F2F",
    Timeliness.CHUA_CO_HAN: "BDBDBD",
}

TASK_COLUMNS: tuple[tuple[str, int], ...] = (
    ("index", 6),
    ("agency", 30),
    ("submission", 14),
    ("ordinal", 6),
    ("assignment", 28),
    ("task", 60),
    ("role", 11),
    ("due_on", 12),
    ("state", 16),
    ("timeliness", 22),
    ("progress", 10),
    ("completed_on", 12),
    ("updated_at", 17),
    ("updated_by", 20),
    ("narrative", 45),
    ("blocked_reason", 35),
)


def render(report: ConsolidatedReport) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = t("consolidated_xlsx.summary_sheet")
    _summary_sheet(summary, report)
    _tasks_sheet(workbook.create_sheet(t("consolidated_xlsx.tasks_sheet")), report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: write Vietnam's wall-clock time, without an offset."""
    return to_local(value).replace(tzinfo=None) if value else None


def _fraction(pct: float | None) -> float | None:
    return pct / 100 if pct is not None else None


def _header(sheet: Worksheet, row: int, labels: list[str]) -> None:
    for column, label in enumerate(labels, start=1):
        cell = sheet.cell(row=row, column=column, value=label)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGN
        cell.border = BOX


def _summary_sheet(sheet: Worksheet, report: ConsolidatedReport) -> None:
    summary = report.summary
    for line in fmt.title_lines(report):
        sheet.append([line])
    sheet["A1"].font = TITLE
    sheet.append([])
    deadline = report.deadline
    facts: list[tuple[str, Any, str | None]] = [
        (
            t("consolidated_xlsx.deadline"),
            (
                t(
                    "consolidated_xlsx.deadline_value",
                    label=deadline.label,
                    due_on=fmt.day(deadline.due_on),
                )
                if deadline
                else t("consolidated_xlsx.no_deadline")
            ),
            None,
        ),
        (t("consolidated_xlsx.as_of"), report.today, DATE_FORMAT),
        (t("consolidated_xlsx.tasks_total"), summary.tasks_total, None),
        (t("consolidated_xlsx.tasks_done"), summary.tasks_done, None),
        (t("consolidated_xlsx.completion"), _fraction(summary.completion_pct), PERCENT_FORMAT),
        (
            t("consolidated_xlsx.average_progress"),
            _fraction(summary.average_progress),
            PERCENT_FORMAT,
        ),
        (t("consolidated_xlsx.reports_owed"), summary.reports_owed, None),
        (t("consolidated_xlsx.reports_on_time"), summary.reports_on_time, None),
        (t("consolidated_xlsx.on_time_rate"), _fraction(summary.on_time_rate), PERCENT_FORMAT),
    ]
    sheet.append([None, t("consolidated_xlsx.figures")])
    sheet.cell(row=sheet.max_row, column=2).font = BOLD
    for label, value, number_format in facts:
        sheet.append([None, label, value])
        if number_format:
            sheet.cell(row=sheet.max_row, column=3).number_format = number_format

    sheet.append([])
    first = sheet.max_row + 1
    _header(
        sheet,
        first,
        [
            t("consolidated_col.index"),
            t("consolidated_col.criterion"),
            t("consolidated_col.count"),
            t("consolidated_col.share"),
        ],
    )
    for index, timeliness in enumerate(Timeliness, start=1):
        count = summary.by_timeliness[timeliness]
        share = count / summary.tasks_total if summary.tasks_total else None
        sheet.append([index, fmt.timeliness_label(timeliness), count, share])
        sheet.cell(row=sheet.max_row, column=4).number_format = PERCENT_FORMAT

    sheet.append([])
    header_row = sheet.max_row + 1
    labels = [
        t("consolidated_col.index"),
        t("consolidated_col.agency"),
        *[fmt.timeliness_label(timeliness) for timeliness in Timeliness],
        t("consolidated_col.tasks_total"),
        t("consolidated_col.completion"),
        t("consolidated_col.submission"),
        t("consolidated_col.submitted_at"),
        t("consolidated_col.on_time_rate"),
        t("consolidated_col.report_narrative"),
        t("consolidated_col.review_comment"),
    ]
    _header(sheet, header_row, labels)
    for index, agency in enumerate(report.agencies, start=1):
        sheet.append(
            [
                index,
                agency.name,
                *[agency.by_timeliness[timeliness] for timeliness in Timeliness],
                agency.tasks_total,
                _fraction(agency.completion_pct),
                fmt.submission_label(agency.submission),
                fmt.local_day(agency.submitted_at),
                _fraction(agency.on_time_rate),
                agency.narrative,
                agency.review_comment,
            ]
        )
        row = header_row + index
        sheet.cell(row=row, column=10).number_format = PERCENT_FORMAT
        sheet.cell(row=row, column=12).number_format = DATE_FORMAT
        sheet.cell(row=row, column=13).number_format = PERCENT_FORMAT
    last_row = header_row + len(report.agencies)
    widths = [6, 40, 12, 12, 12, 12, 12, 12, 10, 12, 16, 14, 16, 50, 35]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    if report.agencies:
        _chart(sheet, header_row=header_row, last_row=last_row, agencies=len(report.agencies))


def _chart(sheet: Worksheet, *, header_row: int, last_row: int, agencies: int) -> None:
    """A stacked horizontal bar per agency, one segment per timeliness, under the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = t("consolidated_xlsx.chart_title")
    chart.y_axis.title = t("consolidated_xlsx.chart_axis")
    data = Reference(
        sheet, min_col=3, max_col=2 + len(Timeliness), min_row=header_row, max_row=last_row
    )
    categories = Reference(sheet, min_col=2, min_row=header_row + 1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    for series, timeliness in zip(chart.series, Timeliness, strict=True):
        series.graphicalProperties.solidFill = TIMELINESS_COLOURS[timeliness]
        series.graphicalProperties.line.solidFill = TIMELINESS_COLOURS[timeliness]
    # Agencies top to bottom in the table's order.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.width = 26
    chart.height = max(8.0, 2.5 + 0.6 * agencies)
    sheet.add_chart(chart, f"B{last_row + 3}")


# How each column of the task sheet is formatted (1-based column numbers).
_TASK_FORMATS = {8: "date", 12: "date", 13: "moment", 5: "wrap", 6: "wrap", 15: "wrap", 16: "wrap"}


class _Styles:
    """Cell styles set once and copied: openpyxl registers (and hashes) a style on every
    assignment, which costs seconds over the 30,000 cells of a 2,000-task sheet."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, bool], StyleArray] = {}

    def apply(self, cell: Cell, kind: str, *, overdue: bool) -> None:
        key = (kind, overdue)
        array = self._arrays.get(key)
        if array is not None:
            cell._style = copy(array)
            return
        if kind == "date":
            cell.number_format = DATE_FORMAT
        elif kind == "moment":
            cell.number_format = MOMENT_FORMAT
        elif kind == "wrap":
            cell.alignment = WRAP
        if overdue:
            cell.fill = OVERDUE_FILL
            cell.font = OVERDUE_FONT
        self._arrays[key] = copy(cell._style)


def _tasks_sheet(sheet: Worksheet, report: ConsolidatedReport) -> None:
    _header(sheet, 1, [t(f"consolidated_col.{name}") for name in (c for c, _ in TASK_COLUMNS)])
    for column, (_, width) in enumerate(TASK_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    styles = _Styles()
    row = 1
    for agency in report.agencies:
        submission = fmt.submission_label(agency.submission)
        for task in agency.tasks:
            row += 1
            overdue = task.timeliness == Timeliness.QUA_HAN
            values = _task_row(row - 1, agency.name, submission, task)
            for column, value in enumerate(values, start=1):
                if value is None and not overdue:
                    continue  # an empty cell costs as much to write as a full one
                cell = sheet.cell(row=row, column=column, value=value)
                kind = _TASK_FORMATS.get(column, "plain")
                if overdue or kind != "plain":
                    styles.apply(cell, kind, overdue=overdue)
    sheet.freeze_panes = "A2"
    last_column = get_column_letter(len(TASK_COLUMNS))
    sheet.auto_filter.ref = f"A1:{last_column}{max(row, 2)}"


def _task_row(index: int, agency: str, submission: str, task: ReportTask) -> list[Any]:
    return [
        index,
        agency,
        submission,
        task.ordinal,
        task.assignment,
        task.text,
        fmt.role_label(task.role),
        task.due_on,
        fmt.state_label(task.state),
        fmt.timeliness_label(task.timeliness),
        task.progress,
        task.completed_on,
        _local(task.updated_at),
        task.updated_by,
        task.narrative,
        task.blocked_reason,
    ]
