"""Small plans, one per variant in docs/domain.md, each checking what a reviewer would see."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from service.plans.errors import PlanError
from service.plans.parser import parse_bytes
from service.plans.schemas import PlanExtraction

HEADER = """ỦY BAN NHÂN DÂN            CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
XÃ AN BÌNH                 Độc lập - Tự do - Hạnh phúc
Số: 12/KH-UBND             An Bình, ngày 05 tháng 3 năm 2025
KẾ HOẠCH
Thực hiện công tác giảm nghèo năm 2025
I. MỤC ĐÍCH, YÊU CẦU
Nâng cao hiệu quả công tác giảm nghèo trên địa bàn xã.
II. KINH PHÍ THỰC HIỆN
Từ ngân sách xã.
"""
CLOSING = """Trên đây là Kế hoạch của UBND xã./.
Nơi nhận:
- UBND huyện;
- Lưu: VT.
"""


def parse(section: str, header: str = HEADER, closing: str = CLOSING) -> PlanExtraction:
    return parse_bytes((header + section + closing).encode(), "plan.txt")


def headings(result: PlanExtraction) -> list[str]:
    return [a.heading for a in result.assignments]


def task_counts(result: PlanExtraction) -> list[int]:
    return [len(a.tasks) for a in result.assignments]


def test_commune_plan_with_metadata() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Công chức Lao động - Thương binh và Xã hội: Là bộ phận thường trực, tham mưu UBND xã theo dõi, tổng hợp kết quả thực hiện.
2. Công an xã: Đảm bảo an ninh trật tự.
3. Trưởng các thôn: Rà soát hộ nghèo trên địa bàn thôn.
"""
    )
    assert result.plan.number == "12/KH-UBND"
    assert result.plan.issuer == "Ủy ban nhân dân xã An Bình"
    assert result.plan.issued_on == date(2025, 3, 5)
    assert (result.plan.start_year, result.plan.end_year) == (2025, 2025)
    assert result.plan.title == "Thực hiện công tác giảm nghèo năm 2025"
    assert result.implementation_section.numeral == "III"
    assert result.implementation_section.line == 10
    assert result.lead_agency == "Công chức Lao động - Thương binh và Xã hội"
    assert headings(result) == [
        "Công chức Lao động - Thương binh và Xã hội",
        "Công an xã",
        "Trưởng các thôn",
    ]


def test_lettered_blocks_under_a_group_heading() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Trách nhiệm của các cơ quan, đơn vị
a) Phòng Y tế: Chủ trì khám chữa bệnh cho người nghèo.
b) Phòng Giáo dục và Đào tạo: Miễn giảm học phí cho học sinh nghèo.
2. Chế độ báo cáo
Các đơn vị báo cáo 6 tháng (trước ngày 15/6) và năm (trước ngày 20/11) về UBND xã.
"""
    )
    assert [a.ordinal for a in result.assignments] == ["a", "b"]
    assert headings(result) == ["Phòng Y tế", "Phòng Giáo dục và Đào tạo"]
    assert {(r.kind, r.due_day_month) for r in result.reporting} == {
        ("semiannual", "15/06"),
        ("annual", "20/11"),
    }
    assert [d.due_on for d in result.deadlines] == [date(2025, 6, 15), date(2025, 11, 20)]


def test_lettered_items_inside_an_agency_block_are_tasks() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Y tế:
a) Chủ trì khám chữa bệnh cho người nghèo.
b) Phối hợp với Trung tâm Y tế cấp thẻ bảo hiểm y tế.
2. Phòng Tư pháp: Trợ giúp pháp lý.
"""
    )
    assert headings(result) == ["Phòng Y tế", "Phòng Tư pháp"]
    roles = [t.role for t in result.assignments[0].tasks]
    assert roles == ["chu_tri", "phoi_hop"]
    assert result.assignments[0].tasks[1].co_agencies == ["Trung tâm Y tế"]


def test_headings_without_colon_or_with_period_and_no_spaces() -> None:
    result = parse(
        """V.TỔ CHỨC THỰC HIỆN
1. Phòng Nội vụ
Hướng dẫn thực hiện chế độ cho cán bộ.
2.Tư pháp.
Trợ giúp pháp lý cho người nghèo.
3. Phòng Kinh tế. Hỗ trợ sản xuất cho hộ nghèo.
"""
    )
    assert result.implementation_section.numeral == "V"
    assert headings(result) == ["Phòng Nội vụ", "Tư pháp", "Phòng Kinh tế"]
    assert task_counts(result) == [1, 1, 1]


def test_plain_paragraphs_are_one_task_each() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Y tế:
Chủ trì khám chữa bệnh cho người nghèo. Theo dõi, tổng hợp kết quả.
Phối hợp cấp thẻ bảo hiểm y tế cho hộ cận nghèo.
"""
    )
    assert task_counts(result) == [2]


def test_lead_in_sentence_and_nested_bullets() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Lao động - TB&XH: Là cơ quan thường trực, giúp UBND theo dõi kế hoạch.
- Hướng dẫn rà soát hộ nghèo:
+ Rà soát định kỳ hằng năm;
+ Rà soát thường xuyên.
"""
    )
    assert task_counts(result) == [4]
    assert result.assignments[0].is_lead


def test_several_bodies_and_names_that_contain_va() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Văn hóa và Thông tin, Phòng Giáo dục và Đào tạo và Trung tâm Y tế: Tuyên truyền.
2. Ủy ban Mặt trận Tổ quốc, Hội Nông dân, Hội Cựu chiến binh và Đoàn Thanh niên xã: Vận động.
"""
    )
    assert result.assignments[0].members == [
        "Phòng Văn hóa và Thông tin",
        "Phòng Giáo dục và Đào tạo",
        "Trung tâm Y tế",
    ]
    assert result.assignments[1].members == [
        "Ủy ban Mặt trận Tổ quốc",
        "Hội Nông dân",
        "Hội Cựu chiến binh",
        "Đoàn Thanh niên xã",
    ]


def test_request_to_mass_organisations_and_collective_bodies() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Đề nghị Ủy ban Mặt trận Tổ quốc Việt Nam xã và các đoàn thể: Giám sát thực hiện.
2. Các thôn: Bình xét hộ nghèo.
"""
    )
    first, second = result.assignments
    assert first.is_request
    assert not second.is_request
    assert first.members == ["Ủy ban Mặt trận Tổ quốc Việt Nam xã", "các đoàn thể"]
    assert second.members == ["Các thôn"]


def test_decoy_sections_are_not_the_implementation_section() -> None:
    result = parse(
        """III. NỘI DUNG THỰC HIỆN
1. Phòng Y tế tổ chức thực hiện khám bệnh.
IV. TỔ CHỨC THỰC HIỆN
1. Phòng Tư pháp: Trợ giúp pháp lý.
"""
    )
    assert result.implementation_section.numeral == "IV"
    assert headings(result) == ["Phòng Tư pháp"]


def test_assignments_in_a_section_of_their_own() -> None:
    result = parse(
        """III. PHÂN CÔNG NHIỆM VỤ
1. Phòng Y tế: Khám chữa bệnh.
2. Phòng Tư pháp: Trợ giúp pháp lý.
IV. TỔ CHỨC THỰC HIỆN
Giao Phòng Lao động - Thương binh và Xã hội là cơ quan thường trực, tổng hợp báo cáo.
"""
    )
    assert result.implementation_section.heading == "PHÂN CÔNG NHIỆM VỤ"
    assert headings(result) == ["Phòng Y tế", "Phòng Tư pháp"]


def test_individual_roles_as_assignees() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Đồng chí Phó Chủ tịch UBND xã - Trưởng tiểu ban: Chỉ đạo chung công tác bầu cử.
2. Đồng chí Trưởng Công an xã: Đảm bảo an ninh trật tự.
"""
    )
    assert headings(result) == [
        "Đồng chí Phó Chủ tịch UBND xã - Trưởng tiểu ban",
        "Đồng chí Trưởng Công an xã",
    ]


def test_nfd_input_and_tone_placement_variants() -> None:
    text = HEADER + "III. TỔ CHỨC THỰC HIỆN\n1. Uỷ ban Mặt trận Tổ quốc xã: Vận động.\n" + CLOSING
    result = parse_bytes(unicodedata.normalize("NFD", text).encode(), "nfd.txt")
    assert result.assignments[0].heading == "Uỷ ban Mặt trận Tổ quốc xã"
    assert unicodedata.is_normalized("NFC", result.assignments[0].heading)


def test_pdf_artefacts_wrapped_lines_page_breaks_and_hyphenation() -> None:
    section = (
        "III. TỔ CHỨC THỰC HIỆN\n\n"
        "1. Phòng Lao động - Thương binh và Xã hội: Là cơ quan thường trực theo dõi\n\n"
        "tổng hợp, tham mưu Ủy ban nhân dân xã chỉ đạo công tác giảm nghèo trên địa\n\n"
        "bàn xã và báo cáo định kỳ kết quả thực hiện công tác GN-\n"
        " GQVL&ĐTN theo quy định.\n\n"
        "(1)\n\n"
        "2. Phòng Y tế: Khám chữa bệnh cho người nghèo, người cận nghèo, tạo điều kiện\n\n"
        "cho người nghèo tiếp cận các dịch vụ y tế.\n\n"
    )
    header = "\n\n".join(HEADER.splitlines()) + "\n\n"
    result = parse(section, header=header)
    first = result.assignments[0].tasks[0].text
    assert "GN-GQVL&ĐTN" in first
    assert "theo dõi tổng hợp" in first
    assert task_counts(result) == [1, 1]


def test_quarterly_and_monthly_regimes_give_deadlines_every_period() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Y tế: Khám chữa bệnh.
IV. CHẾ ĐỘ BÁO CÁO
Các đơn vị báo cáo hằng quý, trước ngày 20 tháng cuối quý; báo cáo năm chậm nhất ngày 05/12.
"""
    )
    quarterly = [d.due_on for d in result.deadlines if d.kind == "quarterly"]
    assert quarterly == [
        date(2025, 3, 20),
        date(2025, 6, 20),
        date(2025, 9, 20),
        date(2025, 12, 20),
    ]
    assert [d.due_on for d in result.deadlines if d.kind == "annual"] == [date(2025, 12, 5)]
    assert all(d.source == "plan" for d in result.deadlines)


def test_kinds_without_dates_use_the_default_calendar_with_a_warning() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Y tế: Định kỳ 6 tháng, một năm báo cáo kết quả về UBND xã.
"""
    )
    assert {(r.kind, r.due_day_month) for r in result.reporting} == {
        ("semiannual", None),
        ("annual", None),
    }
    assert [(d.due_on, d.source) for d in result.deadlines] == [
        (date(2025, 6, 10), "default"),
        (date(2025, 11, 10), "default"),
    ]
    assert any("lịch mặc định" in w for w in result.warnings)


def test_period_plan_recurs_every_year_with_a_period_report() -> None:
    header = HEADER.replace("năm 2025\nI.", "giai đoạn 2021-2025\nI.").replace(
        "ngày 05 tháng 3 năm 2025", "ngày 05 tháng 3 năm 2021"
    )
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Y tế: Báo cáo năm (trước ngày 10/11) và báo cáo giai đoạn (trước ngày 10/11 của năm cuối giai đoạn).
""",
        header=header,
    )
    assert (result.plan.start_year, result.plan.end_year) == (2021, 2025)
    annual = [d.due_on.year for d in result.deadlines if d.kind == "annual"]
    assert annual == [2021, 2022, 2023, 2024, 2025]
    period = [d for d in result.deadlines if d.kind == "period"]
    assert [(d.due_on, d.label) for d in period] == [
        (date(2025, 11, 10), "Báo cáo giai đoạn 2021-2025")
    ]


def test_report_to_is_the_body_reports_go_through() -> None:
    result = parse(
        """III. TỔ CHỨC THỰC HIỆN
1. Phòng Lao động - Thương binh và Xã hội: Theo dõi, tổng hợp.
2. Phòng Y tế: Khám chữa bệnh.
""",
        closing="Các đơn vị báo cáo 6 tháng (trước ngày 10/6) về UBND xã (qua Phòng Lao động - TB&XH).\n"
        + CLOSING,
    )
    assert result.report_to == "Phòng Lao động - Thương binh và Xã hội"
    # Nothing in the block says "thường trực", so the body reports go through leads.
    assert result.lead_agency == "Phòng Lao động - Thương binh và Xã hội"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (HEADER + "III. NHIỆM VỤ\n1. Tuyên truyền.\n" + CLOSING, "parse.no_section"),
        (
            "PLAN\nI. PURPOSE\nThe district will reduce poverty.\nII. ORGANISATION\n",
            "parse.not_vietnamese",
        ),
        (
            HEADER
            + "III. TỔ CHỨC THỰC HIỆN\nCác đơn vị triển khai thực hiện nghiêm túc.\n"
            + CLOSING,
            "parse.no_assignments",
        ),
    ],
)
def test_documents_that_are_not_trackable_plans(text: str, code: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_bytes(text.encode(), "x.txt")
    assert caught.value.code == code
    assert caught.value.message  # a sentence for people, in Vietnamese
