"""Plans whose assignments are a table: "STT | Nội dung | Cơ quan chủ trì | Phối hợp | Thời gian"."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import docx
import jsonschema
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from service.plans.errors import PlanError
from service.plans.parser import parse_bytes
from service.plans.readers import read_bytes
from service.plans.schemas import PlanExtraction
from service.plans.tables import cells, due_date, find_tables
from service.plans.text import paragraphs
from tests.plans.gold import FIXTURES, gold_files, load, plan_file

EXTRA = FIXTURES / "extra"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "service/plans/plan-extraction.schema.json").read_text()
)

HEADER = """ỦY BAN NHÂN DÂN            CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
HUYỆN AN LÃO               Độc lập - Tự do - Hạnh phúc
Số: 12/KH-UBND             An Lão, ngày 05 tháng 3 năm 2025
KẾ HOẠCH
Thực hiện công tác chuyển đổi số năm 2025
I. MỤC ĐÍCH, YÊU CẦU
Nâng cao hiệu quả chuyển đổi số trên địa bàn huyện.
"""
CLOSING = """Trên đây là Kế hoạch của UBND huyện./.
Nơi nhận:
- UBND tỉnh;
- Lưu: VT.
"""
TABLE = """STT | Nội dung nhiệm vụ | Cơ quan chủ trì | Cơ quan phối hợp | Thời gian hoàn thành
I. Nhóm nhiệm vụ về hạ tầng | | | |
1 | Nâng cấp mạng nội bộ | Phòng Văn hóa và Thông tin | Văn phòng HĐND và UBND huyện; UBND các xã, thị trấn | Quý II/2025
2 | Số hóa hồ sơ lưu trữ | Phòng Nội vụ | Các cơ quan, đơn vị liên quan | Trước 30/9/2025
II. Nhóm nhiệm vụ về nhân lực | | | |
3 | Tập huấn kỹ năng số | Phòng Nội vụ | Phòng Văn hóa và Thông tin | Thường xuyên
"""


def parse(section: str, closing: str = CLOSING, appendix: str = "") -> PlanExtraction:
    return parse_bytes((HEADER + section + closing + appendix).encode(), "plan.txt")


def tasks_by_heading(result: PlanExtraction) -> dict[str, list[str]]:
    return {a.heading: [t.text for t in a.tasks] for a in result.assignments}


# --- whole plans --------------------------------------------------------------------------------


def test_rows_become_tasks_of_the_lead_agency_grouped_per_agency() -> None:
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + TABLE)

    assert tasks_by_heading(result) == {
        "Phòng Văn hóa và Thông tin": ["Nâng cấp mạng nội bộ"],
        "Phòng Nội vụ": ["Số hóa hồ sơ lưu trữ", "Tập huấn kỹ năng số"],
    }
    first = result.assignments[0]
    assert first.ordinal == "1"
    assert first.members == ["Phòng Văn hóa và Thông tin"]
    assert first.canonical == ["Phòng Văn hóa và Thông tin"]
    task = first.tasks[0]
    assert task.role == "chu_tri"
    # A ";" always separates bodies; "Văn phòng HĐND và UBND huyện" stays one body.
    assert task.co_agencies == ["Văn phòng HĐND và UBND huyện", "UBND các xã, thị trấn"]
    assert (task.due_text, task.due_on) == ("Quý II/2025", date(2025, 6, 30))
    second = result.assignments[1].tasks
    assert [(t.due_text, t.due_on) for t in second] == [
        ("Trước 30/9/2025", date(2025, 9, 30)),
        ("Thường xuyên", None),
    ]
    assert second[0].co_agencies == ["Các cơ quan, đơn vị liên quan"]


def test_phoi_hop_bodies_get_no_task_of_their_own() -> None:
    """As with "phối hợp với …" in prose, co-agencies are named on the task, not assigned it."""
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + TABLE)

    members = [m for a in result.assignments for m in a.members]
    assert "UBND các xã, thị trấn" not in members
    assert "Văn phòng HĐND và UBND huyện" not in members


def test_the_extraction_with_due_dates_still_meets_the_contract() -> None:
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + TABLE)

    data = result.to_json_dict()
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert data["assignments"][0]["tasks"][0]["due_on"] == "2025-06-30"  # type: ignore[index]


def test_markdown_rows_read_the_same_as_plain_rows() -> None:
    markdown = "\n".join(
        f"| {line} |" if i != 1 else f"| {line} |\n|---|---|---|---|---|"
        for i, line in enumerate(TABLE.splitlines(), start=1)
    )
    plain = parse("II. TỔ CHỨC THỰC HIỆN\n" + TABLE)
    drawn = parse("II. TỔ CHỨC THỰC HIỆN\n" + markdown + "\n")

    assert drawn.assignments == plain.assignments


def test_a_group_row_inside_the_section_does_not_end_it() -> None:
    """ "I. Nhóm nhiệm vụ …" reads like a Roman section heading, but it is a row of the table."""
    result = parse(
        "II. TỔ CHỨC THỰC HIỆN\n" + TABLE + "4. Phòng Tài chính - Kế hoạch: bố trí kinh phí.\n"
    )

    assert result.implementation_section.numeral == "II"
    assert "Phòng Tài chính - Kế hoạch" in tasks_by_heading(result)


def test_rows_join_the_prose_block_of_the_same_agency() -> None:
    section = (
        "II. TỔ CHỨC THỰC HIỆN\n"
        "1. Phòng Nội vụ: là cơ quan thường trực, theo dõi, đôn đốc thực hiện Kế hoạch.\n"
        "2. Nhiệm vụ cụ thể của các cơ quan như sau:\n" + TABLE
    )
    result = parse(section)

    lead = result.assignments[0]
    assert lead.ordinal == "1"
    assert lead.is_lead
    assert result.lead_agency == "Phòng Nội vụ"
    assert [t.text for t in lead.tasks] == [
        "là cơ quan thường trực, theo dõi, đôn đốc thực hiện Kế hoạch.",
        "Số hóa hồ sơ lưu trữ",
        "Tập huấn kỹ năng số",
    ]
    assert [a.heading for a in result.assignments] == ["Phòng Nội vụ", "Phòng Văn hóa và Thông tin"]


def test_a_table_in_an_appendix_after_the_signature_is_read() -> None:
    section = (
        "II. TỔ CHỨC THỰC HIỆN\n"
        "1. Căn cứ nhiệm vụ được giao tại Phụ lục kèm theo Kế hoạch này, các cơ quan tổ chức "
        "thực hiện.\n"
        "2. Định kỳ, các cơ quan báo cáo kết quả về UBND huyện (qua Phòng Nội vụ) trước ngày 15/11.\n"
    )
    appendix = "PHỤ LỤC\nPHÂN CÔNG NHIỆM VỤ THỰC HIỆN KẾ HOẠCH\n" + TABLE
    result = parse(section, appendix=appendix)

    # The appendix's title is an assignment-like heading, yet the plan's section is II.
    assert result.implementation_section.heading == "TỔ CHỨC THỰC HIỆN"
    assert list(tasks_by_heading(result)) == ["Phòng Văn hóa và Thông tin", "Phòng Nội vụ"]
    assert result.lead_agency == "Phòng Nội vụ"  # the report recipient


def test_without_the_appendix_the_same_section_has_no_assignments() -> None:
    section = (
        "II. TỔ CHỨC THỰC HIỆN\n"
        "1. Căn cứ nhiệm vụ được giao tại Phụ lục kèm theo Kế hoạch này, các cơ quan tổ chức "
        "thực hiện.\n"
    )
    with pytest.raises(PlanError) as caught:
        parse(section)
    assert caught.value.code == "parse.no_assignments"


@pytest.mark.parametrize(
    "table",
    [
        # a budget: money, even with a task-like and an agency column
        "STT | Nội dung công việc | Kinh phí (triệu đồng) | Đơn vị thực hiện\n"
        "1 | Mua thiết bị | 300 | Phòng Nội vụ\n",
        # targets
        "STT | Chỉ tiêu | Đơn vị tính | Năm 2025 | Cơ quan chủ trì\n1 | Hồ sơ trực tuyến | % | 60 | Phòng Nội vụ\n",
        # a timetable: no lead column
        "STT | Hoạt động | Thời gian | Địa điểm\n1 | Lễ phát động | 23/3/2025 | Hội trường\n",
        # a reporting timetable
        "Báo cáo 6 tháng | Trước ngày 15/6\nBáo cáo năm | Trước ngày 15/11\n",
    ],
)
def test_a_table_that_assigns_nothing_gives_no_tasks(table: str) -> None:
    section = "II. TỔ CHỨC THỰC HIỆN\n" + table
    with pytest.raises(PlanError) as caught:
        parse(section)
    assert caught.value.code == "parse.no_assignments"
    result = parse(section + "1. Phòng Tư pháp: phổ biến Kế hoạch.\n")
    assert tasks_by_heading(result) == {"Phòng Tư pháp": ["phổ biến Kế hoạch."]}


def test_an_implementing_unit_column_gives_the_role_thuc_hien() -> None:
    table = (
        "TT | Nội dung | Đơn vị thực hiện | Phối hợp | Thời gian\n"
        "1 | Rà soát hộ nghèo | Phòng Lao động - Thương binh và Xã hội | UBND các xã, thị trấn | "
        "Tháng 11/2025\n"
    )
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + table)

    task = result.assignments[0].tasks[0]
    assert task.role == "thuc_hien"
    assert task.due_on == date(2025, 11, 30)


def test_an_empty_lead_cell_under_a_task_number_continues_the_agency_above() -> None:
    table = (
        "STT | Nhiệm vụ | Chủ trì | Phối hợp | Thời hạn\n"
        "1 | Kiểm tra an toàn thực phẩm | Phòng Y tế | Công an huyện | Quý I/2025\n"
        "2 | Tuyên truyền an toàn thực phẩm |  | Phòng Văn hóa và Thông tin | Quý II/2025\n"
        "3 | Đề nghị tham gia giám sát | Đề nghị Ủy ban MTTQ Việt Nam huyện |  | \n"
    )
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + table)

    assert tasks_by_heading(result) == {
        "Phòng Y tế": ["Kiểm tra an toàn thực phẩm", "Tuyên truyền an toàn thực phẩm"],
        "Đề nghị Ủy ban MTTQ Việt Nam huyện": ["Đề nghị tham gia giám sát"],
    }
    request = result.assignments[1]
    assert request.is_request
    assert request.members == ["Ủy ban MTTQ Việt Nam huyện"]
    assert request.tasks[0].due_text is None
    assert request.tasks[0].co_agencies == []


def test_an_unknown_lead_agency_is_warned_about() -> None:
    table = (
        "STT | Nhiệm vụ | Cơ quan chủ trì | Thời gian\n"
        "7 | Quảng bá sản phẩm | Hợp tác xã Rau sạch Đồng Xanh | Năm 2025\n"
    )
    result = parse("II. TỔ CHỨC THỰC HIỆN\n" + table)

    assert any("Hợp tác xã Rau sạch Đồng Xanh" in w and "7" in w for w in result.warnings)


# --- header rows and cells ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "role"),
    [
        (
            "STT | Nội dung nhiệm vụ | Cơ quan chủ trì | Cơ quan phối hợp | Thời gian hoàn thành",
            "chu_tri",
        ),
        ("TT | Nhiệm vụ | Đơn vị chủ trì | Đơn vị phối hợp | Thời hạn | Sản phẩm", "chu_tri"),
        ("STT | Nội dung công việc | Chủ trì | Phối hợp | Thời gian", "chu_tri"),
        ("Số TT | NỘI DUNG | CƠ QUAN CHỦ TRÌ | CƠ QUAN PHỐI HỢP | TIẾN ĐỘ", "chu_tri"),
        ("STT | Nhiệm vụ | Cơ quan/đơn vị thực hiện | Thời gian thực hiện", "thuc_hien"),
    ],
)
def test_header_titles_are_recognised(header: str, role: str) -> None:
    found = find_tables([header, "1 | Rà soát văn bản | Phòng Tư pháp | Phòng Nội vụ | Năm 2025"])

    assert len(found) == 1
    assert found[0].role == role
    row = found[0].rows[0]
    assert (row.number, row.task, row.lead) == ("1", "Rà soát văn bản", "Phòng Tư pháp")


def test_rows_before_any_header_and_after_the_table_are_not_tasks() -> None:
    texts = [
        "1 | Rà soát | Phòng Tư pháp | Năm 2025",
        "STT | Nhiệm vụ | Chủ trì | Thời gian",
        "1 | Rà soát văn bản | Phòng Tư pháp | Năm 2025",
        "Một đoạn văn kết thúc bảng.",
        "2 | Kiểm tra | Phòng Nội vụ | Năm 2025",
    ]
    found = find_tables(texts)

    assert [[r.task for r in table.rows] for table in found] == [["Rà soát văn bản"]]


def test_column_numbers_totals_and_rules_are_not_tasks() -> None:
    texts = [
        "| STT | Nhiệm vụ | Chủ trì | Thời gian |",
        "|:---|---|---|---:|",
        "| (1) | (2) | (3) | (4) |",
        "| 1 | - Rà soát văn bản | Phòng Tư pháp | Năm 2025 |",
        "| | Tổng cộng | | |",
    ]
    found = find_tables(texts)

    assert [(r.task, r.lead) for r in found[0].rows] == [("Rà soát văn bản", "Phòng Tư pháp")]


def test_cells_of_a_markdown_row_leave_out_the_outer_pipes() -> None:
    assert cells("| 1 | Nội dung |  |") == ["1", "Nội dung", ""]
    assert cells("1 | Nội dung | ") == ["1", "Nội dung", ""]


# --- due dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Trước 30/6/2025", date(2025, 6, 30)),
        ("Trước ngày 15 tháng 7 năm 2025", date(2025, 7, 15)),
        ("Chậm nhất ngày 05/12/2025", date(2025, 12, 5)),
        ("Quý II/2025", date(2025, 6, 30)),
        ("Quý IV năm 2025", date(2025, 12, 31)),
        ("Quý 1/2025", date(2025, 3, 31)),
        ("Tháng 2/2025", date(2025, 2, 28)),
        ("Tháng 9 năm 2025", date(2025, 9, 30)),
        ("6 tháng đầu năm 2025", date(2025, 6, 30)),
        ("06 tháng cuối năm", date(2025, 12, 31)),
        ("Năm 2025", date(2025, 12, 31)),
        ("Cuối năm", date(2025, 12, 31)),
        ("Từ tháng 3 đến tháng 6/2025", date(2025, 6, 30)),
        ("Quý III", date(2025, 9, 30)),  # no year: the plan's one year
        ("Trước 30/6", date(2025, 6, 30)),
        ("Hằng năm, trước 15/12", date(2025, 12, 15)),
        ("Hằng năm", None),
        ("Thường xuyên", None),
        ("Theo yêu cầu", None),
        ("31/6/2025", None),  # not a date
        ("", None),
    ],
)
def test_due_date_in_a_one_year_plan(cell: str, expected: date | None) -> None:
    assert due_date(cell, start_year=2025, end_year=2025) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Quý II/2026", date(2026, 6, 30)),
        ("2025-2027", date(2027, 12, 31)),
        ("Quý II", None),  # which year?
        ("Trước 30/6", None),
        ("Hằng năm, trước 15/12", None),  # every year: no single date
        ("Thường xuyên", None),
    ],
)
def test_due_date_in_a_plan_of_several_years(cell: str, expected: date | None) -> None:
    assert due_date(cell, start_year=2025, end_year=2027) == expected


# --- text layout ----------------------------------------------------------------------------------


def test_a_row_is_a_paragraph_of_its_own_even_in_wrapped_text() -> None:
    lines = [
        "Các cơ quan, đơn vị căn cứ nhiệm vụ được giao triển khai thực hiện theo bảng",
        "STT | Nhiệm vụ | Chủ trì | Thời gian",
        "1 | rà soát văn bản | Phòng Tư pháp | Năm 2025",
        "tiếp tục nội dung của đoạn văn sau bảng",
    ]
    result = paragraphs(lines, hard_wrapped=True)

    assert [p.text for p in result] == lines


# --- DOCX merged cells --------------------------------------------------------------------------


def _docx_with_merges(span: str = "5") -> bytes:
    document = docx.Document()
    table = document.add_table(rows=4, cols=5)
    rows = [
        ["STT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian"],
        ["I. Nhóm nhiệm vụ tuyên truyền", "", "", "", ""],
        ["1", "Tuyên truyền", "Phòng Văn hóa và Thông tin", "UBND các xã, thị trấn", "Quý II/2025"],
        ["2", "Tập huấn", "", "Phòng Nội vụ", "Năm 2025"],
    ]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.paragraphs[0].add_run(value)
    table.cell(1, 0).merge(table.cell(1, 4))
    table.cell(2, 2).merge(table.cell(3, 2))
    if span != "5":
        grid_span = table.rows[1]._tr.find(f".//{qn('w:gridSpan')}")
        grid_span.set(qn("w:val"), span)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_merged_cells_are_laid_out_on_the_grid() -> None:
    lines = read_bytes(_docx_with_merges(), "plan.docx").lines

    assert lines[1:] == [
        "I. Nhóm nhiệm vụ tuyên truyền |  |  |  | ",
        "1 | Tuyên truyền | Phòng Văn hóa và Thông tin | UBND các xã, thị trấn | Quý II/2025",
        # the lead cell merged down reads on every row it spans
        "2 | Tập huấn | Phòng Văn hóa và Thông tin | Phòng Nội vụ | Năm 2025",
    ]


def test_a_forged_column_span_does_not_blow_up_the_row() -> None:
    lines = read_bytes(_docx_with_merges(span="2000000000"), "plan.docx").lines

    assert lines[1].count("|") == 62  # Word's 63 columns at most


def test_docx_plan_with_a_merged_table_parses() -> None:
    document = docx.Document(io.BytesIO(_docx_with_merges()))
    body = document.element.body
    table = body.find(qn("w:tbl"))
    for text in [*HEADER.splitlines(), "II. TỔ CHỨC THỰC HIỆN"]:
        table.addprevious(parse_xml(f"<w:p {nsdecls('w')}><w:r><w:t>{text}</w:t></w:r></w:p>"))
    for text in CLOSING.splitlines():
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)

    result = parse_bytes(buffer.getvalue(), "plan.docx")

    assert tasks_by_heading(result) == {"Phòng Văn hóa và Thông tin": ["Tuyên truyền", "Tập huấn"]}


# --- the annotated fixtures -------------------------------------------------------------------------

DATED = [path for path in gold_files() if any("due" in a for a in load(path).get("agencies", []))]


@pytest.mark.parametrize("gold_path", DATED, ids=[p.name.removesuffix(".gold.json") for p in DATED])
def test_fixture_due_dates_match_gold(gold_path: Path) -> None:
    from service.plans.parser import parse_file

    gold = load(gold_path)
    result = {a.heading: a for a in parse_file(plan_file(gold_path)).assignments}
    for agency in gold["agencies"]:
        if "due" in agency:
            mine = result[agency["heading"]].tasks
            assert [t.due_on.isoformat() if t.due_on else None for t in mine] == agency["due"]


def test_there_are_table_fixtures_of_each_kind() -> None:
    names = {p.name for p in DATED}
    assert any(
        name.endswith(".gold.json") and plan_file(EXTRA / name).suffix == ".txt" for name in names
    )
    assert sum(plan_file(EXTRA / name).suffix == ".docx" for name in names) >= 2


def _make_b3() -> ModuleType:
    path = EXTRA / "make_b3.py"
    spec = importlib.util.spec_from_file_location("make_b3", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "gold_path",
    sorted(EXTRA.glob("b3-*.gold.json")),
    ids=lambda p: p.name.removesuffix(".gold.json"),
)
def test_b3_gold_agrees_with_the_text_dondoc_reads(gold_path: Path) -> None:
    """The DOCX golds are checked like the .txt ones, against the text the reader gives."""
    assert _make_b3().gold_problems(gold_path) == []
