"""The Word report, opened with python-docx and checked against the database and Decree 30.

Where LibreOffice is installed, the document is also converted to PDF and its pages rendered to
PNG under artifacts/reports/ (not committed) for a person to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.shared import Length
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PdfReader
from sqlalchemy.orm import Session

from service.config import Settings
from service.errors import AppError
from service.reports import docx as report_docx
from service.reports import service as report_service
from service.reports.schemas import ConsolidatedReport, ReportFormat
from service.reports.templates import make_template
from tests.reports import world
from tests.reports.conftest import database_tasks, rendered

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "reports"


def open_docx(data: bytes) -> DocxDocument:
    return Document(io.BytesIO(data))


def blocks(document: DocxDocument) -> list[Paragraph | Table]:
    return list(document.iter_inner_content())


def texts(document: DocxDocument) -> list[str]:
    return [block.text for block in blocks(document) if isinstance(block, Paragraph)]


def rows(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def mm(length: Length | None) -> float:
    """Millimetres to 0.1 mm: Word stores margins in twentieths of a point."""
    assert length is not None
    return round(float(length.mm), 1)


def test_page_and_margins_follow_decree_30(report: ConsolidatedReport) -> None:
    document = open_docx(rendered(report, ReportFormat.DOCX))
    first, appendix = document.sections[0], document.sections[-1]

    assert (round(mm(first.page_width)), round(mm(first.page_height))) == (210, 297)
    assert appendix.orientation == WD_ORIENT.LANDSCAPE
    assert (round(mm(appendix.page_width)), round(mm(appendix.page_height))) == (297, 210)
    for section in document.sections:
        assert 20 <= mm(section.top_margin) <= 25
        assert 20 <= mm(section.bottom_margin) <= 25
        assert 30 <= mm(section.left_margin) <= 35
        assert 15 <= mm(section.right_margin) <= 20


def test_times_new_roman_13_to_14_pt(report: ConsolidatedReport) -> None:
    document = open_docx(rendered(report, ReportFormat.DOCX))
    sizes: Counter[float] = Counter()
    for paragraph in _all_paragraphs(document):
        if not paragraph.text.strip():
            continue
        style = paragraph.style
        assert style is not None
        for run in paragraph.runs:
            name, size = _font(run, style)
            assert name == "Times New Roman", paragraph.text
            sizes[size] += 1
    # "Nơi nhận" (12 pt) and its list (11 pt) are the sizes Decree 30 sets for them; the
    # national name line is 12-13 pt by the decree; everything else is 13-14 pt.
    assert set(sizes) <= {11.0, 12.0, 13.0, 14.0}
    assert sizes[11.0] + sizes[12.0] <= 5
    assert sizes[13.0] + sizes[14.0] > 100


def _all_paragraphs(document: DocxDocument) -> list[Paragraph]:
    found = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                found.extend(cell.paragraphs)
    return found


def _font(run, style) -> tuple[str | None, float]:  # type: ignore[no-untyped-def]
    """The run's font name and size, resolved through its paragraph style's chain."""
    name, size = run.font.name, run.font.size
    while style is not None and (name is None or size is None):
        name = name or style.font.name
        size = size or style.font.size
        style = style.base_style
    assert size is not None
    return name, size.pt


def test_header_title_and_signature_blocks(report: ConsolidatedReport) -> None:
    document = open_docx(rendered(report, ReportFormat.DOCX))
    header = document.tables[0]
    left, right = header.rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == [
        "UBND HUYỆN THANH LIÊM",
        "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
    ]
    assert [p.text for p in right.paragraphs if p.text] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    number, place_date = header.rows[1].cells
    # Số ký hiệu: the number is left blank for the office to fill in.
    assert re.fullmatch(r"Số:\s{4,}/BC-LĐTBXH", number.text)
    assert place_date.text == "Thanh Liêm, ngày 20 tháng 6 năm 2021"

    paragraphs = [text for text in texts(document) if text]
    assert paragraphs[:3] == [
        "BÁO CÁO",
        "Kết quả thực hiện Kế hoạch số 45/KH-UBND ngày 15/03/2021 của Ủy ban nhân dân huyện "
        "Thanh Liêm về triển khai thực hiện Chương trình mục tiêu Quốc gia giảm nghèo bền "
        "vững năm 2021",
        "(6 tháng đầu năm 2021)",
    ]
    signature = next(table for table in document.tables if "Nơi nhận:" in table.cell(0, 0).text)
    recipients, signer = signature.rows[0].cells
    assert [p.text for p in recipients.paragraphs] == [
        "Nơi nhận:",
        "- Ủy ban nhân dân huyện Thanh Liêm (để báo cáo);",
        "- Các cơ quan, đơn vị liên quan;",
        "- Lưu: VT.",
    ]
    assert signer.paragraphs[0].text == "TRƯỞNG PHÒNG"
    everything = "\n".join(p.text for p in _all_paragraphs(document))
    assert "{{" not in everything
    assert "}}" not in everything


def test_body_figures_match_the_database(
    report: ConsolidatedReport, session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    document = open_docx(rendered(report, ReportFormat.DOCX))
    facts = database_tasks(session, plan_id=scenario.plan.id, due_soon_days=settings.due_soon_days)
    counts = Counter(fact.timeliness.value for fact in facts)
    body = texts(document)

    assert "I. KẾT QUẢ THỰC HIỆN" in body
    assert "II. TỒN TẠI, HẠN CHẾ" in body
    assert "III. ĐỀ XUẤT, KIẾN NGHỊ" in body
    assert (
        "Tổng số 20 cơ quan, đơn vị phải báo cáo; đã báo cáo đúng hạn 1, quá hạn 1; bị trả lại 1;"
        " chưa báo cáo 17; chưa đến hạn 0. Tỷ lệ báo cáo đúng hạn: 5%." in body
    )
    summary = next(table for table in document.tables if table.cell(0, 1).text == "Chỉ tiêu")
    table = {row[1]: row[2] for row in rows(summary)[1:]}
    assert table == {
        "Hoàn thành đúng hạn": str(counts["hoan_thanh_dung_han"]),
        "Hoàn thành quá hạn": str(counts["hoan_thanh_qua_han"]),
        "Đang thực hiện trong hạn": str(counts["dang_thuc_hien_trong_han"]),
        "Sắp đến hạn": str(counts["sap_den_han"]),
        "Quá hạn chưa hoàn thành": str(counts["qua_han_chua_hoan_thanh"]),
        "Chưa có hạn": str(counts["chua_co_han"]),
        "Tổng cộng": str(len(facts)),
    }
    agencies = next(
        table for table in document.tables if table.cell(0, 1).text == "Cơ quan, đơn vị"
    )
    by_name = {row[1]: row for row in rows(agencies)[1:]}
    assert len(by_name) == 21  # 20 agencies and the total
    assert by_name[world.LEAD][2:] == ["Đúng hạn", "6", "1", "1", "16,7", "100"]
    assert by_name["Phòng Nông nghiệp và Phát triển nông thôn"][2] == "Bị trả lại"
    assert by_name["Phòng Giáo dục và Đào tạo"][2:7] == ["Chưa báo cáo", "1", "1", "0", "100"]
    # Overdue tasks and problems are named in part II.
    overdue = [text for text in body if text.startswith("- Phòng Tư pháp: ")]
    assert overdue
    assert "(hạn 31/05/2021, tiến độ 30%)" in overdue[0]
    assert any(
        text.startswith("- Phòng Y tế: ")
        and "vướng mắc: Chưa được cấp kinh phí mua thẻ bảo hiểm y tế" in text
        for text in body
    )


def test_appendix_has_every_agency_and_its_tasks(
    report: ConsolidatedReport, session: Session, settings: Settings, scenario: world.Scenario
) -> None:
    document = open_docx(rendered(report, ReportFormat.DOCX))
    facts = database_tasks(session, plan_id=scenario.plan.id, due_soon_days=settings.due_soon_days)
    per_agency = Counter(fact.agency for fact in facts)
    content = blocks(document)
    start = next(
        index
        for index, block in enumerate(content)
        if isinstance(block, Paragraph) and block.text == "PHỤ LỤC"
    )
    assert content[start].paragraph_format.page_break_before

    sections: dict[str, list[Paragraph | Table]] = {}
    current: list[Paragraph | Table] = []
    for block in content[start:]:
        if isinstance(block, Paragraph) and re.match(r"^\d+\. ", block.text):
            current = sections.setdefault(block.text.split(". ", 1)[1], [])
        else:
            current.append(block)
    assert list(sections) == list(per_agency)
    for name, count in per_agency.items():
        tables = [block for block in sections[name] if isinstance(block, Table)]
        assert len(tables) == 1
        assert len(tables[0].rows) == count + 1, name

    lead = sections[world.LEAD]
    assert lead[0].text == (  # type: ignore[union-attr]
        "Báo cáo kỳ này: Đúng hạn, gửi ngày 08/06/2021. "
        "Tỷ lệ báo cáo đúng hạn các kỳ: 100% (2/2 kỳ)."
    )
    lead_rows = rows(next(block for block in lead if isinstance(block, Table)))
    assert lead_rows[0] == [
        "STT",
        "Nhiệm vụ",
        "Thời hạn",
        "Tình trạng",
        "Tiến độ so với hạn",
        "Kết quả thực hiện",
    ]
    assert lead_rows[1][2:5] == ["31/05/2021", "Hoàn thành (100%)", "Hoàn thành đúng hạn"]
    assert lead_rows[1][5] == "Đã hoàn thành rà soát\n(Cập nhật ngày 20/05/2021, Trần Văn Lao Động)"

    farming = sections["Phòng Nông nghiệp và Phát triển nông thôn"]
    farming_text = [block.text for block in farming if isinstance(block, Paragraph)]
    assert "Ý kiến trả lại: Thiếu số liệu hộ thoát nghèo" in farming_text
    health = rows(next(block for block in sections["Phòng Y tế"] if isinstance(block, Table)))
    assert health[1][3:6] == [
        "Gặp vướng mắc (20%)",
        "Đang thực hiện trong hạn",
        "Đã lập danh sách cấp thẻ\nVướng mắc: Chưa được cấp kinh phí mua thẻ bảo hiểm y tế\n"
        "(Cập nhật ngày 05/06/2021, Hoàng Thị Y Tế)",
    ]


def test_a_deployment_template_is_used_and_split_placeholders_filled(
    report: ConsolidatedReport, tmp_path: Path
) -> None:
    """Word splits typed text into runs at will: a placeholder over three runs still works."""
    template = make_template.build(tmp_path / "templates" / "report.docx")
    document = Document(str(template))
    signer = next(
        cell.paragraphs[0]
        for table in document.tables
        for cell in table.rows[0].cells
        if cell.paragraphs and cell.paragraphs[0].text == "{{ signer_title }}"
    )
    for run in list(signer.runs):
        run._r.getparent().remove(run._r)
    for piece in ("KT. TRƯỞNG PHÒNG {{ sig", "ner_t", "itle }} X"):
        signer.add_run(piece)
    document.save(str(template))

    data = report_service.render(report, ReportFormat.DOCX, data_dir=tmp_path).content

    texts_ = [p.text for p in _all_paragraphs(open_docx(data))]
    assert "KT. TRƯỞNG PHÒNG TRƯỞNG PHÒNG X" in texts_


def test_an_unreadable_template_is_a_clear_error(
    report: ConsolidatedReport, tmp_path: Path
) -> None:
    broken = tmp_path / "report.docx"
    broken.write_bytes(b"not a docx")
    with pytest.raises(AppError) as raised:
        report_docx.render(report, template=broken)
    assert raised.value.code == "consolidated.template_missing"
    assert raised.value.status == 500
    assert str(broken) in raised.value.message


def test_pdf_through_libreoffice(report: ConsolidatedReport, backend: str, tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: no PDF rendering of the report")
    source = tmp_path / f"bao-cao-{backend}.docx"
    source.write_bytes(rendered(report, ReportFormat.DOCX))
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = source.with_suffix(".pdf")
    reader = PdfReader(str(pdf))
    first = reader.pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (595, 842)
    last = reader.pages[-1]
    # The appendix pages are landscape.
    assert float(last.mediabox.width) > float(last.mediabox.height)
    # poppler reads the Vietnamese back in order (pypdf scrambles the stacked diacritics).
    if shutil.which("pdftotext"):
        first_text = subprocess.run(
            ["pdftotext", "-l", "1", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in first_text
        assert "Thanh Liêm, ngày 20 tháng 6 năm 2021" in first_text
        assert "BÁO CÁO" in first_text

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pdf, ARTIFACTS / pdf.name)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / pdf.stem)],
            check=True,
            timeout=120,
        )
        assert list(ARTIFACTS.glob(f"{pdf.stem}-*.png"))
