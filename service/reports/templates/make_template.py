"""Build `report.docx`, the template of the consolidated report (Decree 30/2020/NĐ-CP layout).

    python service/reports/templates/make_template.py [OUTPUT]

The template holds what a deployment may want to change without touching code: page size and
margins, fonts, the styles below, the header block, the signature block. A deployment edits
the generated file in Word or LibreOffice (or this script) and puts it at
`<data dir>/templates/report.docx`. Placeholders are `{{ name }}`; a paragraph holding only
`{{ body }}`, `{{ recipients }}` or `{{ appendix }}` is replaced by generated paragraphs and
tables. The styles named in `STYLES` must stay (they may be restyled).

Decree 30/2020, Appendix I: A4; margins top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm;
Times New Roman 13-14 pt for the body; page numbers centred in the top margin from page 2;
"Nơi nhận" 12 pt bold italic with its list in 11 pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

TEMPLATE = Path(__file__).with_name("report.docx")
FONT = "Times New Roman"

# Style name -> (size pt, bold, italic, alignment, first-line indent cm, space after pt)
STYLES: dict[str, tuple[float, bool, bool, WD_ALIGN_PARAGRAPH, float, float]] = {
    "Report Body": (14, False, False, WD_ALIGN_PARAGRAPH.JUSTIFY, 1.27, 6),
    "Report Heading": (14, True, False, WD_ALIGN_PARAGRAPH.JUSTIFY, 1.27, 6),
    "Report Center": (14, True, False, WD_ALIGN_PARAGRAPH.CENTER, 0, 0),
    "Report Caption": (14, True, False, WD_ALIGN_PARAGRAPH.CENTER, 0, 6),
    "Report Note": (14, False, True, WD_ALIGN_PARAGRAPH.CENTER, 0, 6),
    "Report Table Heading": (13, True, False, WD_ALIGN_PARAGRAPH.CENTER, 0, 0),
    "Report Table Number": (13, False, False, WD_ALIGN_PARAGRAPH.CENTER, 0, 0),
    "Report Recipients Title": (12, True, True, WD_ALIGN_PARAGRAPH.LEFT, 0, 0),
    "Report Recipients": (11, False, False, WD_ALIGN_PARAGRAPH.LEFT, 0, 0),
    "Report Signer": (14, True, False, WD_ALIGN_PARAGRAPH.CENTER, 0, 0),
}
# Never the last line of a page: a heading or a table's caption stays with what follows.
KEEP_WITH_NEXT = {"Report Heading", "Report Caption", "Report Center"}


def _set_font(style: ParagraphStyle, size: float, *, bold: bool, italic: bool) -> None:
    style.font.name = FONT
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = italic
    # Word picks the font per script: set it for every one, or Vietnamese may fall back.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "vi-VN")
    style.element.get_or_add_rPr().append(language)


def _styles(document: DocxDocument) -> None:
    normal = document.styles["Normal"]
    # Table cells use Normal: 13 pt, compact, so 2,000 rows need no per-cell styling.
    _set_font(normal, 13, bold=False, italic=False)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    for name, (size, bold, italic, alignment, indent, after) in STYLES.items():
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        _set_font(style, size, bold=bold, italic=italic)
        style.paragraph_format.alignment = alignment
        style.paragraph_format.first_line_indent = Cm(indent) if indent else None
        style.paragraph_format.space_after = Pt(after)
        style.paragraph_format.space_before = Pt(0)
        style.paragraph_format.keep_with_next = name in KEEP_WITH_NEXT


def _page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    # The page number, centred in the top margin, from the second page on.
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table: Table, widths_mm: list[float]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)


def _line(paragraph: Paragraph, *, cell_mm: float, line_mm: float) -> None:
    """A short centred rule under a header line: an empty, tiny paragraph with a border."""
    paragraph.paragraph_format.left_indent = Mm((cell_mm - line_mm) / 2)
    paragraph.paragraph_format.right_indent = Mm((cell_mm - line_mm) / 2)
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(2)
    properties = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    properties.append(borders)


def _text(
    paragraph: Paragraph, text: str, *, size: float, bold: bool = False, italic: bool = False
) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic


def build(path: Path = TEMPLATE) -> Path:
    document = Document()
    _styles(document)
    _page(document)
    # Everything before the body is inserted before this paragraph.
    body = document.add_paragraph()

    left_mm, right_mm = 65.0, 100.0
    header = document.add_table(rows=2, cols=2)
    _no_borders(header)
    _widths(header, [left_mm, right_mm])
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    issuer, nation = header.rows[0].cells
    _text(issuer.paragraphs[0], "{{ parent_org }}", size=13)
    _text(issuer.add_paragraph(), "{{ issuer_org }}", size=13, bold=True)
    _line(issuer.add_paragraph(), cell_mm=left_mm, line_mm=25)
    _text(nation.paragraphs[0], "{{ national_name }}", size=12, bold=True)
    _text(nation.add_paragraph(), "{{ motto }}", size=13, bold=True)
    _line(nation.add_paragraph(), cell_mm=right_mm, line_mm=62)
    number, place = header.rows[1].cells
    number.paragraphs[0].paragraph_format.space_before = Pt(6)
    _text(number.paragraphs[0], "{{ number }}", size=13)
    place.paragraphs[0].paragraph_format.space_before = Pt(6)
    _text(place.paragraphs[0], "{{ place_date }}", size=14, italic=True)
    body._p.addprevious(header._tbl)

    title = body.insert_paragraph_before("{{ doc_kind }}", "Report Center")
    title.paragraph_format.space_before = Pt(18)
    body.insert_paragraph_before("{{ subject }}", "Report Center")
    body.insert_paragraph_before("{{ period }}", "Report Center")
    _line(body.insert_paragraph_before("", "Report Center"), cell_mm=165, line_mm=30)
    spacer = body.insert_paragraph_before("", "Report Body")
    spacer.paragraph_format.space_after = Pt(6)
    body.text = "{{ body }}"
    body.style = document.styles["Report Body"]

    document.add_paragraph("", "Report Body")
    signature = document.add_table(rows=1, cols=2)
    _no_borders(signature)
    _widths(signature, [80, 85])
    recipients, signer = signature.rows[0].cells
    recipients.paragraphs[0].text = "{{ recipients_title }}"
    recipients.paragraphs[0].style = document.styles["Report Recipients Title"]
    recipients.add_paragraph("{{ recipients }}", "Report Recipients")
    signer.paragraphs[0].text = "{{ signer_title }}"
    signer.paragraphs[0].style = document.styles["Report Signer"]
    for _ in range(4):
        signer.add_paragraph("", "Report Signer")
    # The signer's full name: typed once into a deployment's own copy of this template.
    signer.add_paragraph("", "Report Signer")

    # The appendix: its own section, landscape, so a task table has room for its columns.
    appendix = document.add_section(WD_SECTION.NEW_PAGE)
    appendix.orientation = WD_ORIENT.LANDSCAPE
    appendix.page_width, appendix.page_height = Mm(297), Mm(210)
    appendix.different_first_page_header_footer = False
    document.add_paragraph("{{ appendix }}", "Report Body")

    properties = document.core_properties
    properties.title = "Báo cáo kết quả thực hiện kế hoạch"
    properties.author = "dondoc"
    properties.language = "vi-VN"
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE))
