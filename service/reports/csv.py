"""The report as CSV: one row per task (an agency without tasks gets one row of its own).

UTF-8 with a byte-order mark, so Excel shows Vietnamese correctly when the file is opened by a
double click. Values are written as people read them (dd/mm/yyyy, "66,7"), like the other
formats; for sums and filters on real dates and numbers, the XLSX is the format to use.
"""

from __future__ import annotations

import csv
import io

from service.i18n import t
from service.reports import formatting as fmt
from service.reports.schemas import AgencyReport, ConsolidatedReport, ReportTask

MEDIA_TYPE = "text/csv; charset=utf-8"

COLUMNS = (
    "index",
    "agency",
    "submission",
    "submitted_at",
    "on_time_rate",
    "ordinal",
    "assignment",
    "task",
    "role",
    "due_on",
    "state",
    "timeliness",
    "progress",
    "completed_on",
    "updated_at",
    "updated_by",
    "narrative",
    "blocked_reason",
)


def header() -> list[str]:
    return [t(f"consolidated_col.{column}") for column in COLUMNS]


def render(report: ConsolidatedReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header())
    index = 0
    for agency in report.agencies:
        if not agency.tasks:
            index += 1
            writer.writerow([index, *_agency_cells(agency), *[""] * 13])
        for task in agency.tasks:
            index += 1
            writer.writerow([index, *_agency_cells(agency), *_task_cells(task)])
    return buffer.getvalue().encode("utf-8-sig")


def _agency_cells(agency: AgencyReport) -> list[str]:
    return [
        agency.name,
        fmt.submission_label(agency.submission),
        fmt.day(fmt.local_day(agency.submitted_at)),
        fmt.number(agency.on_time_rate) if agency.on_time_rate is not None else "",
    ]


def _task_cells(task: ReportTask) -> list[str | int]:
    return [
        task.ordinal,
        task.assignment,
        task.text,
        fmt.role_label(task.role),
        fmt.day(task.due_on),
        fmt.state_label(task.state),
        fmt.timeliness_label(task.timeliness),
        task.progress,
        fmt.day(task.completed_on),
        fmt.moment(task.updated_at),
        task.updated_by or "",
        task.narrative or "",
        task.blocked_reason or "",
    ]
