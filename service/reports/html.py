"""The report as a web page: the same figures as the DOCX, one self-contained HTML file.

Jinja2 with autoescape (task texts and narratives are typed by people) and StrictUndefined (a
misspelt variable is an error, not a blank). The page prints cleanly: download links hide.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from service.i18n import t
from service.reports import formatting as fmt
from service.reports.schemas import ConsolidatedReport, ReportFormat
from service.tasks.timeliness import Timeliness

MEDIA_TYPE = "text/html; charset=utf-8"


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("service.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: ConsolidatedReport, *, links: bool = False) -> bytes:
    """The page; `links` adds download links to the other formats (relative to the API route
    serving the page, so a saved file has none)."""
    header = fmt.header_values(report)
    total = report.summary.tasks_total
    context = {
        "report": report,
        "plan_label": report.plan.number or report.plan.title or str(report.plan.id),
        "title": fmt.title_lines(report),
        "parent_org": header["parent_org"],
        "issuer_org": header["issuer_org"],
        "place_date": header["place_date"],
        "generated": fmt.moment(report.generated_at),
        "reporting_figures": fmt.reporting_figures(report),
        "tasks_figures": fmt.tasks_figures(report),
        "timeliness_rows": [
            {
                "label": fmt.timeliness_label(item),
                "count": report.summary.by_timeliness[item],
                "share": fmt.percent(
                    100 * report.summary.by_timeliness[item] / total if total else None
                ),
            }
            for item in Timeliness
        ],
        "overdue": Timeliness.QUA_HAN,
        "links": _links(report) if links else [],
        "t": t,
        "day": fmt.day,
        "local_day": fmt.local_day,
        "moment": fmt.moment,
        "percent": fmt.percent,
        "state": fmt.state_label,
        "timeliness": fmt.timeliness_label,
        "submission": fmt.submission_label,
        "agency_line": fmt.agency_line,
    }
    return _environment().get_template("report.html").render(context).encode("utf-8")


def _links(report: ConsolidatedReport) -> list[tuple[str, str]]:
    query: dict[str, str | int] = {}
    if report.deadline is not None and not report.as_of_today:
        query["deadline_id"] = report.deadline.id
    return [
        (f"?{urlencode({**query, 'format': item.value})}", item.value.upper())
        for item in ReportFormat
        if item != ReportFormat.HTML
    ]
