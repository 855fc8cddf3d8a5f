"""The report as a Word document in the administrative layout of Decree 30/2020/NĐ-CP.

The layout lives in a template (`templates/report.docx`, built by `templates/make_template.py`;
a deployment may put its own at `<data dir>/templates/report.docx`): page, margins, fonts,
styles, the header block and the signature block. This module fills its `{{ placeholders }}`
and puts the generated body, recipients and appendix where the template has `{{ body }}`,
`{{ recipients }}` and `{{ appendix }}`.

Tables are written at the XML level: python-docx's `row.cells` walks the whole table on every
call, which costs seconds for 2,000 tasks.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.section import Section
from docx.shared import Length
from docx.table import Table
from docx.text.paragraph import Paragraph

from service.errors import AppError
from service.i18n import t
from service.reports import formatting as fmt
from service.reports.schemas import AgencyReport, ConsolidatedReport, ReportTask, Submission
from service.tasks.timeliness import Timeliness

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEMPLATE = Path(__file__).parent / "templates" / "report.docx"

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_BLOCK = re.compile(r"^\s*\{\{\s*(body|recipients|appendix)\s*\}\}\s*$")
# Long task texts are shortened in the body's lists; the appendix has them in full.
_SHORT = 160

# Relative column widths of the generated tables, in mm for the bundled template (165 mm of
# text on a portrait page, 252 mm on the appendix's landscape page); scaled to the text width of
# the section they land in, so a template with other margins still gets full-width tables.
_SUMMARY_WIDTHS = [14.0, 91.0, 30.0, 30.0]
_AGENCY_WIDTHS = [14.0, 37.0, 22.0, 20.0, 18.0, 17.0, 18.0, 19.0]
_TASK_WIDTHS = [14.0, 95.0, 25.0, 30.0, 32.0, 56.0]


def render(report: ConsolidatedReport, *, template: Path | None = None) -> bytes:
    document = _open(template or TEMPLATE)
    values = fmt.header_values(report)
    blocks: list[tuple[str, Paragraph]] = []
    for paragraph in _paragraphs(document):
        text = paragraph.text
        if "{{" not in text:
            continue
        block = _BLOCK.match(text)
        if block:
            blocks.append((block.group(1), paragraph))
        else:
            _fill(paragraph, values)
    builders: dict[str, Callable[[_Writer, ConsolidatedReport], None]] = {
        "body": _body,
        "recipients": _recipients,
        "appendix": _appendix,
    }
    sections = document.sections
    # The body and the recipients sit in the first section; the appendix in the last.
    text_width = {
        "body": _text_width(sections[0]),
        "recipients": _text_width(sections[0]),
        "appendix": _text_width(sections[-1]),
    }
    for name, marker in blocks:
        writer = _Writer(document, marker, text_mm=text_width[name])
        builders[name](writer, report)
        writer.flush()
        marker._p.getparent().remove(marker._p)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _open(path: Path) -> DocxDocument:
    try:
        return Document(str(path))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, PackageNotFoundError) as error:
        raise AppError(
            "consolidated.template_missing", status=500, path=str(path), detail=str(error)
        ) from error


def _paragraphs(document: DocxDocument) -> Iterator[Paragraph]:
    """Every paragraph of the body (tables included, nested ones too), headers and footers."""

    def walk(container: Sequence[Paragraph], tables: Sequence[Table]) -> Iterator[Paragraph]:
        yield from container
        for table in tables:
            for row in table.rows:
                for cell in row.cells:
                    yield from walk(cell.paragraphs, cell.tables)

    yield from walk(document.paragraphs, document.tables)
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header):
            if not part.is_linked_to_previous:
                yield from walk(part.paragraphs, part.tables)


def _fill(paragraph: Paragraph, values: dict[str, str]) -> None:
    """Replace placeholders, keeping each run's formatting; a placeholder that Word split over
    several runs is put together in the paragraph's first run."""

    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    runs = paragraph.runs
    if all(_whole_placeholders(run.text) for run in runs):
        for run in runs:
            if "{{" in run.text:
                run.text = _PLACEHOLDER.sub(value, run.text)
        return
    runs[0].text = _PLACEHOLDER.sub(value, "".join(run.text for run in runs))
    for run in runs[1:]:
        run.text = ""


def _whole_placeholders(text: str) -> bool:
    """Does every placeholder that starts or ends in `text` also end or start in it?"""
    rest = _PLACEHOLDER.sub("", text)
    return "{{" not in rest and "}}" not in rest


# --- Writing before a marker paragraph -----------------------------------------------------------


class _Writer:
    """Collects paragraphs and tables as WordprocessingML text, then puts them before `anchor`
    in one parse: building 2,000 table rows element by element through python-docx costs
    seconds, the text costs milliseconds."""

    def __init__(self, document: DocxDocument, anchor: Paragraph, *, text_mm: float) -> None:
        self.document = document
        self.anchor = anchor
        self.text_mm = text_mm
        self._parts: list[str] = []
        self._style_ids: dict[str, str | None] = {}

    def style_id(self, name: str) -> str | None:
        """The id of a template style; None (Normal) if a replaced template lacks it."""
        if name not in self._style_ids:
            try:
                self._style_ids[name] = self.document.styles[name].style_id
            except KeyError:
                self._style_ids[name] = None
        return self._style_ids[name]

    def paragraph(
        self, text: str, style: str = "Report Body", *, page_break_before: bool = False
    ) -> None:
        self._parts.append(
            _paragraph_xml(text, self.style_id(style), page_break_before=page_break_before)
        )

    def table(
        self,
        header: list[str],
        rows: Sequence[Sequence[str | list[str]]],
        widths: list[float],
        *,
        centred: frozenset[int] = frozenset(),
        bold_last: bool = False,
    ) -> None:
        """A bordered table, full text width, with a header row repeated on every page and
        rows that never split over two pages; a cell given as a list of strings gets one
        paragraph per string."""
        scale = self.text_mm / sum(widths)
        twips = [round(width * scale * _TWIPS_PER_MM) for width in widths]
        heading = self.style_id("Report Table Heading")
        number = self.style_id("Report Table Number")
        parts = [
            f'<w:tbl><w:tblPr><w:tblW w:w="{sum(twips)}" w:type="dxa"/>{_BORDERS}'
            '<w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>',
            *(f'<w:gridCol w:w="{width}"/>' for width in twips),
            "</w:tblGrid>",
            _row_xml(header, twips, [heading] * len(twips), header_row=True),
        ]
        plain = [number if column in centred else None for column in range(len(twips))]
        for index, values in enumerate(rows):
            bold = bold_last and index == len(rows) - 1
            parts.append(_row_xml(values, twips, [heading] * len(twips) if bold else plain))
        parts.append("</w:tbl>")
        self._parts.append("".join(parts))

    def flush(self) -> None:
        if not self._parts:
            return
        container = parse_xml(f"<w:body {nsdecls('w')}>{''.join(self._parts)}</w:body>")
        for element in list(container):
            self.anchor._p.addprevious(element)
        self._parts = []


_TWIPS_PER_MM = 1440 / 25.4
# Characters XML 1.0 cannot hold: dropped from typed text rather than failing the document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BORDERS = (
    "<w:tblBorders>"
    + "".join(
        f'<w:{edge} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    + "</w:tblBorders>"
)


def _run_xml(text: str) -> str:
    """One run; line breaks and tabs typed in the text become Word's breaks and tabs."""
    pieces = []
    for number, line in enumerate(_NOT_XML.sub("", text).split("\n")):
        if number:
            pieces.append("<w:br/>")
        for position, chunk in enumerate(line.split("\t")):
            if position:
                pieces.append("<w:tab/>")
            if chunk:
                pieces.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return f"<w:r>{''.join(pieces)}</w:r>" if pieces else ""


def _paragraph_xml(text: str, style_id: str | None, *, page_break_before: bool = False) -> str:
    properties = f'<w:pStyle w:val="{escape(style_id)}"/>' if style_id else ""
    if page_break_before:
        properties += "<w:pageBreakBefore/>"
    if properties:
        properties = f"<w:pPr>{properties}</w:pPr>"
    return f"<w:p>{properties}{_run_xml(text)}</w:p>"


def _row_xml(
    values: Sequence[str | list[str]],
    twips: list[int],
    styles: list[str | None],
    *,
    header_row: bool = False,
) -> str:
    properties = "<w:cantSplit/><w:tblHeader/>" if header_row else "<w:cantSplit/>"
    cells = []
    for value, width, style_id in zip(values, twips, styles, strict=True):
        texts = value if isinstance(value, list) else [value]
        paragraphs = "".join(_paragraph_xml(text, style_id) for text in texts or [""])
        cells.append(
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>{paragraphs}</w:tc>'
        )
    return f"<w:tr><w:trPr>{properties}</w:trPr>{''.join(cells)}</w:tr>"


def _text_width(section: Section) -> float:
    """The width between the margins, in mm."""
    width = (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)
    return Length(width).mm if width > 0 else sum(_SUMMARY_WIDTHS)


# --- The body ------------------------------------------------------------------------------------


def _body(writer: _Writer, report: ConsolidatedReport) -> None:
    summary = report.summary
    plan = report.plan
    issuer = plan.lead_agency or plan.issuer or t("consolidated_doc.opening_us")
    writer.paragraph(
        t(
            "consolidated_doc.opening",
            plan_ref=_plan_ref(report),
            issuer=issuer,
            period=report.period,
        )
    )

    writer.paragraph(t("consolidated_doc.part_results"), "Report Heading")
    writer.paragraph(t("consolidated_doc.part_reporting"), "Report Heading")
    deadline = report.deadline
    if deadline is None:
        writer.paragraph(t("consolidated_doc.reporting_no_deadline"))
    else:
        writer.paragraph(
            t(
                "consolidated_doc.reporting_deadline",
                label=deadline.label,
                due_on=fmt.day(deadline.due_on),
            )
        )
        writer.paragraph(fmt.reporting_figures(report))

    writer.paragraph(t("consolidated_doc.part_tasks"), "Report Heading")
    timeliness = summary.by_timeliness
    writer.paragraph(fmt.tasks_figures(report))
    writer.paragraph(t("consolidated_doc.summary_table_caption"), "Report Caption")
    total = summary.tasks_total
    writer.table(
        [
            t("consolidated_col.index"),
            t("consolidated_col.criterion"),
            t("consolidated_col.count"),
            t("consolidated_col.share"),
        ],
        [
            [
                str(index),
                fmt.timeliness_label(item),
                str(timeliness[item]),
                fmt.percent(100 * timeliness[item] / total if total else None),
            ]
            for index, item in enumerate(Timeliness, start=1)
        ]
        + [
            ["", t("consolidated_doc.total_row"), str(total), fmt.percent(100.0 if total else None)]
        ],
        _SUMMARY_WIDTHS,
        centred=frozenset({0, 2, 3}),
        bold_last=True,
    )
    writer.paragraph("")
    writer.paragraph(t("consolidated_doc.agency_table_caption"), "Report Caption")
    writer.table(
        [
            t("consolidated_col.index"),
            t("consolidated_col.agency"),
            t("consolidated_col.submission"),
            t("consolidated_doc.col_tasks"),
            t("consolidated_doc.col_done"),
            t("consolidated_doc.col_overdue"),
            t("consolidated_doc.col_completion"),
            t("consolidated_doc.col_on_time"),
        ],
        [_agency_row(index, agency) for index, agency in enumerate(report.agencies, start=1)]
        + [
            [
                "",
                t("consolidated_doc.total_row"),
                "",
                str(total),
                str(summary.tasks_done),
                str(timeliness[Timeliness.QUA_HAN]),
                _bare_percent(summary.completion_pct),
                "",
            ]
        ],
        _AGENCY_WIDTHS,
        centred=frozenset({0, 2, 3, 4, 5, 6, 7}),
        bold_last=True,
    )
    writer.paragraph(t("consolidated_doc.see_appendix"), "Report Note")

    writer.paragraph(t("consolidated_doc.part_issues"), "Report Heading")
    _issues(writer, report)
    writer.paragraph(t("consolidated_doc.part_proposals"), "Report Heading")
    _proposals(writer, report)
    writer.paragraph(t("consolidated_doc.closing", period=report.period, issuer=issuer))


def _plan_ref(report: ConsolidatedReport) -> str:
    plan = report.plan
    plan_issuer = plan.issuer or ""
    if plan.number and plan.issued_on:
        return t(
            "consolidated_doc.opening_plan_ref",
            number=plan.number,
            issued_on=fmt.day(plan.issued_on),
            plan_issuer=plan_issuer,
        )
    if plan.number:
        return t(
            "consolidated_doc.opening_plan_ref_undated",
            number=plan.number,
            plan_issuer=plan_issuer,
        )
    return t("consolidated_doc.opening_plan_ref_bare", title=plan.title or "")


def _bare_percent(value: float | None) -> str:
    return fmt.number(value) if value is not None else "—"


def _agency_row(index: int, agency: AgencyReport) -> list[str]:
    return [
        str(index),
        agency.name,
        fmt.submission_label(agency.submission),
        str(agency.tasks_total),
        str(agency.tasks_done),
        str(agency.by_timeliness[Timeliness.QUA_HAN]),
        _bare_percent(agency.completion_pct),
        _bare_percent(agency.on_time_rate),
    ]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 1].rstrip() + "…"


def _names(agencies: Sequence[AgencyReport]) -> str:
    return ", ".join(agency.name for agency in agencies)


def _issues(writer: _Writer, report: ConsolidatedReport) -> None:
    summary = report.summary
    unsent = [
        agency
        for agency in report.agencies
        if agency.submission in (Submission.MISSING, Submission.RETURNED)
    ]
    if unsent:
        writer.paragraph(
            t("consolidated_doc.missing_intro", count=len(unsent), names=_names(unsent))
        )
    late = [agency for agency in report.agencies if agency.submission == Submission.LATE]
    if late:
        writer.paragraph(t("consolidated_doc.late_intro", count=len(late), names=_names(late)))
    if summary.overdue:
        writer.paragraph(t("consolidated_doc.overdue_intro", count=len(summary.overdue)))
        for task in summary.overdue:
            writer.paragraph(
                "- "
                + t(
                    "consolidated_doc.overdue_item",
                    agency=task.agency_name,
                    task=_short(task.text),
                    due_on=fmt.day(task.due_on),
                    progress=task.progress,
                )
            )
    else:
        writer.paragraph(t("consolidated_doc.no_overdue"))
    if summary.problems:
        writer.paragraph(t("consolidated_doc.problems_intro", count=len(summary.problems)))
        for task in summary.problems:
            writer.paragraph(
                "- "
                + t(
                    "consolidated_doc.problem_item",
                    agency=task.agency_name,
                    task=_short(task.text),
                    reason=task.blocked_reason or "",
                )
            )
    else:
        writer.paragraph(t("consolidated_doc.no_problems"))


def _proposals(writer: _Writer, report: ConsolidatedReport) -> None:
    summary = report.summary
    unsent = [
        agency
        for agency in report.agencies
        if agency.submission in (Submission.MISSING, Submission.RETURNED)
    ]
    said = False
    if unsent:
        writer.paragraph(t("consolidated_doc.proposal_missing", names=_names(unsent)))
        said = True
    if summary.overdue:
        writer.paragraph(t("consolidated_doc.proposal_overdue"))
        said = True
    if summary.problems:
        report_to = report.plan.report_to or report.plan.issuer
        writer.paragraph(
            t(
                "consolidated_doc.proposal_problems",
                report_to=report_to or t("consolidated_doc.report_to_default"),
            )
        )
        said = True
    if not said:
        writer.paragraph(t("consolidated_doc.proposal_none"))


# --- Recipients and appendix ---------------------------------------------------------------------


def _recipients(writer: _Writer, report: ConsolidatedReport) -> None:
    report_to = report.plan.report_to or report.plan.issuer
    if report_to:
        writer.paragraph(
            t("consolidated_doc.recipient_report_to", name=report_to), "Report Recipients"
        )
    writer.paragraph(t("consolidated_doc.recipient_agencies"), "Report Recipients")
    writer.paragraph(t("consolidated_doc.recipient_archive"), "Report Recipients")


def _appendix(writer: _Writer, report: ConsolidatedReport) -> None:
    # On a page of its own even if a replaced template has no section break before it.
    writer.paragraph(t("consolidated_doc.appendix_title"), "Report Center", page_break_before=True)
    writer.paragraph(t("consolidated_doc.appendix_subtitle"), "Report Center")
    writer.paragraph(
        t(
            "consolidated_doc.appendix_note",
            suffix=fmt.report_suffix(report),
            date=fmt.day(report.today),
        ),
        "Report Note",
    )
    for index, agency in enumerate(report.agencies, start=1):
        writer.paragraph(
            t("consolidated_doc.appendix_agency", index=index, name=agency.name),
            "Report Heading",
        )
        writer.paragraph(fmt.agency_line(agency))
        if agency.narrative and agency.submission != Submission.NOT_REQUIRED:
            writer.paragraph(t("consolidated_doc.appendix_narrative", text=agency.narrative))
        if agency.submission == Submission.RETURNED and agency.review_comment:
            writer.paragraph(t("consolidated_doc.appendix_returned", text=agency.review_comment))
        if not agency.tasks:
            writer.paragraph(t("consolidated_doc.appendix_no_tasks"))
            continue
        writer.table(
            [
                t("consolidated_col.index"),
                t("consolidated_col.task"),
                t("consolidated_col.due_on"),
                t("consolidated_col.state"),
                t("consolidated_col.timeliness"),
                t("consolidated_col.narrative"),
            ],
            [_task_row(position, task) for position, task in enumerate(agency.tasks, start=1)],
            _TASK_WIDTHS,
            centred=frozenset({0, 2}),
        )


def _task_row(position: int, task: ReportTask) -> list[str | list[str]]:
    result: list[str] = []
    if task.narrative:
        result.append(task.narrative)
    if task.blocked_reason:
        result.append(t("consolidated_doc.blocked", reason=task.blocked_reason))
    if task.updated_at:
        result.append(
            t(
                "consolidated_doc.updated",
                date=fmt.day(fmt.local_day(task.updated_at)),
                by=task.updated_by or "",
            )
        )
    return [
        str(position),
        task.text,
        fmt.day(task.due_on) or t("consolidated_doc.no_data"),
        t(
            "consolidated_doc.state_progress",
            state=fmt.state_label(task.state),
            progress=task.progress,
        ),
        fmt.timeliness_label(task.timeliness),
        result or [""],
    ]
