"""The agency registry: folding, matching, the packaged data file, and broken data files."""

from __future__ import annotations

import json
import tomllib
import unicodedata
from pathlib import Path

import pytest

from service.plans.errors import PlanError
from service.plans.registry import (
    DATA_FILE,
    LEVELS,
    Registry,
    RegistryError,
    default_registry,
    fold,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"

LĐTBXH = "Phòng Lao động - Thương binh và Xã hội"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


def canonical(registry: Registry, name: str) -> str | None:
    agency = registry.match(name)
    return agency.canonical if agency else None


# --- fold --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [
        ("Ủy ban", "Uỷ ban"),
        ("văn hóa", "văn hoá"),
        ("thủy lợi", "thuỷ lợi"),
        ("khỏe", "khoẻ"),
        ("hòa giải", "hoà giải"),
        ("Thọ Xuân", "Thọ Xuân"),
        ("tùy", "tuỳ"),
        ("ma túy", "ma tuý"),
        ("lũy kế", "luỹ kế"),
        ("thụy", "thuỵ"),
        ("xõa", "xoã"),
        ("họa", "hoạ"),
        ("lòe", "loè"),
    ],
)
def test_fold_gives_both_tone_placements_one_key(old_style: str, new_style: str) -> None:
    assert fold(old_style) == fold(new_style)


def test_fold_accepts_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Phòng Văn hoá và Thông tin")
    assert decomposed != "Phòng Văn hoá và Thông tin"
    assert fold(decomposed) == fold("Phòng Văn hóa và Thông tin")


def test_fold_ignores_case() -> None:
    assert fold("PHÒNG TƯ PHÁP") == fold("Phòng Tư pháp") == "phòng tư pháp"


@pytest.mark.parametrize(
    "spelling",
    [
        "Phòng Lao động-TB&XH",
        "Phòng Lao động – TB & XH",
        "Phòng Lao động — TB&XH",
        "Phòng Lao động \u2011 TB &XH",
        "  Phòng  Lao động -  TB&XH.",
        "Phòng Lao động - TB&XH:",
        "(Phòng Lao động - TB&XH)",
    ],
)
def test_fold_unifies_dashes_spacing_and_edge_punctuation(spelling: str) -> None:
    assert fold(spelling) == "phòng lao động - tb & xh"


def test_fold_unifies_spacing_around_commas() -> None:
    assert fold("UBND các xã ,thị trấn") == fold("UBND các xã, thị trấn")


def test_fold_keeps_different_words_apart() -> None:
    assert fold("Phòng Y tế") != fold("Trạm Y tế")
    assert fold("trưởng") != fold("trường")


# --- match: spellings of one body --------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "Phòng Lao động - Thương binh và Xã hội",
        "Phòng LĐ-TB&XH",
        "Phòng Lao động - TB&XH",
        "Phòng Lao động - TB&XH huyện",
        "Phòng LĐTBXH",
        "Phòng Lao động-TBXH",
        "Phòng Lao động, Thương binh và Xã hội",
        "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
        "Phòng Lao động – Thương binh và Xã hội huyện Tuy Phước",
        "Phòng Lao động - Thương binh và Xã hội (cơ quan thường trực)",
        "1. Phòng Lao động - Thương binh và Xã hội:",
    ],
)
def test_spellings_of_the_labour_office_match_it(registry: Registry, spelling: str) -> None:
    assert canonical(registry, spelling.removeprefix("1. ")) == LĐTBXH


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Uỷ ban Mặt trận Tổ quốc huyện", "Ủy ban Mặt trận Tổ quốc Việt Nam"),
        ("Ủy ban MTTQVN huyện", "Ủy ban Mặt trận Tổ quốc Việt Nam"),
        ("UBMTTQ xã", "Ủy ban Mặt trận Tổ quốc Việt Nam"),
        ("Phòng Văn hoá - Thông tin", "Phòng Văn hóa và Thông tin"),
        ("Phòng VH&TT", "Phòng Văn hóa và Thông tin"),
        ("Phòng Tài chính và Kế hoạch", "Phòng Tài chính - Kế hoạch"),
        ("Phòng TC-KH huyện", "Phòng Tài chính - Kế hoạch"),
        ("Phòng GD&ĐT", "Phòng Giáo dục và Đào tạo"),
        ("Phòng NN&PTNT", "Phòng Nông nghiệp và Phát triển nông thôn"),
        ("Phòng KT&HT", "Phòng Kinh tế và Hạ tầng"),
        ("Phòng TN&MT", "Phòng Tài nguyên và Môi trường"),
        ("Sở LĐ-TB&XH", "Sở Lao động - Thương binh và Xã hội"),
        ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
        ("Sở VHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
        ("Đoàn TNCS Hồ Chí Minh huyện", "Đoàn Thanh niên Cộng sản Hồ Chí Minh"),
        ("Huyện đoàn", "Đoàn Thanh niên Cộng sản Hồ Chí Minh"),
        ("Hội LHPN xã", "Hội Liên hiệp Phụ nữ"),
        ("Hội CCB", "Hội Cựu chiến binh"),
        ("NHCSXH huyện", "Ngân hàng Chính sách xã hội"),
        ("Phòng giao dịch Ngân hàng Chính sách xã hội Huyện", "Ngân hàng Chính sách xã hội"),
        ("BHXH huyện", "Bảo hiểm xã hội"),
        ("Bảo hiểm Xã hội", "Bảo hiểm xã hội"),
        ("Trung tâm GDNN-GDTX", "Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên"),
        (
            "Trung tâm Giáo dục nghề nghiệp Huyện",
            "Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên",
        ),
        ("Trung tâm VH-TT-TT huyện", "Trung tâm Văn hóa - Thông tin - Thể thao"),
        ("TTYT huyện", "Trung tâm Y tế"),
        ("Văn phòng HĐND và UBND huyện", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân"),
        ("Ban CHQS xã", "Ban Chỉ huy Quân sự xã"),
        ("Công chức LĐ-TB&XH", "Công chức Lao động - Thương binh và Xã hội"),
        ("Công chức VH-XH", "Công chức Văn hóa - Xã hội"),
        ("Công chức TP-HT", "Công chức Tư pháp - Hộ tịch"),
        ("Phòng VH-XH", "Phòng Văn hóa - Xã hội"),
        ("Phòng Kinh tế, Hạ tầng và Đô thị", "Phòng Kinh tế, Hạ tầng và Đô thị"),
        ("Sở Nông nghiệp và Môi trường", "Sở Nông nghiệp và Môi trường"),
    ],
)
def test_abbreviated_and_variant_names_match_their_body(
    registry: Registry, name: str, expected: str
) -> None:
    assert canonical(registry, name) == expected


def test_decomposed_input_matches(registry: Registry) -> None:
    name = unicodedata.normalize("NFD", "Uỷ ban Mặt trận Tổ quốc huyện")
    assert canonical(registry, name) == "Ủy ban Mặt trận Tổ quốc Việt Nam"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Trung tâm y tế huyện", "Trung tâm Y tế"),
        ("Trung tâm Y tế huyện Phù Mỹ, tỉnh Bình Định", "Trung tâm Y tế"),
        ("Hội Nông dân xã Phước Lộc", "Hội Nông dân"),
        ("Bảo hiểm xã hội thị xã An Nhơn", "Bảo hiểm xã hội"),
        ("Đài truyền thanh huyện", "Đài Truyền thanh"),
        ("Chi cục Thống kê khu vực XII", "Chi cục Thống kê"),
        ("Công an thành phố Quy Nhơn", "Công an"),
        ("Phòng Tư pháp trên địa bàn", "Phòng Tư pháp"),
    ],
)
def test_a_trailing_level_word_or_place_keeps_the_body(
    registry: Registry, name: str, expected: str
) -> None:
    assert canonical(registry, name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Công an xã Phước Lộc", "Công an xã"),
        ("Công an phường", "Công an xã"),
        ("Ban Chỉ huy Quân sự thị trấn Tuy Phước", "Ban Chỉ huy Quân sự xã"),
        ("Trạm Y tế xã Phước Lộc", "Trạm Y tế xã"),
        ("Đài Truyền thanh xã", "Đài Truyền thanh xã"),
        ("Uỷ ban nhân dân xã Phước Lộc", "Ủy ban nhân dân xã"),
        ("UBND huyện Tuy Phước", "Ủy ban nhân dân huyện"),
        ("UBND tỉnh Bình Định", "Ủy ban nhân dân tỉnh"),
        ("Văn phòng UBND tỉnh", "Văn phòng Ủy ban nhân dân tỉnh"),
    ],
)
def test_bodies_whose_name_carries_their_level_keep_it(
    registry: Registry, name: str, expected: str
) -> None:
    assert canonical(registry, name) == expected


# --- match: one body or two --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Phòng Văn hóa và Thông tin",
        "Phòng Giáo dục và Đào tạo",
        "Phòng Nông nghiệp và Phát triển nông thôn",
        "Phòng Lao động - Thương binh và Xã hội",
        "Ủy ban Mặt trận Tổ quốc Việt Nam",
        "Phòng Kinh tế và Hạ tầng",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Hội Bảo trợ người khuyết tật và trẻ mồ côi",
    ],
)
def test_a_name_with_va_inside_is_one_body(registry: Registry, name: str) -> None:
    agency = registry.match(name)
    assert agency is not None
    assert fold(agency.canonical) == fold(name)


@pytest.mark.parametrize(
    "name",
    [
        "Phòng Y tế và Trung tâm y tế huyện",
        "Phòng Y tế, Trung tâm Y tế",
        "Phòng Y tế huyện, Trung Tâm Y Tế",
        "Phòng Y tế huyện và Trung tâm y tế",
        "PHÒNG Y TẾ HUYỆN VÀ TTYT",
        "Hội Nông dân, Hội Cựu chiến binh",
        "Phòng Văn hóa và Thông tin, Trung tâm Văn hóa - Thông tin - Thể thao huyện",
        "Ủy ban Mặt trận Tổ quốc Việt Nam và các tổ chức thành viên",
    ],
)
def test_two_bodies_in_one_phrase_match_nothing(registry: Registry, name: str) -> None:
    assert registry.match(name) is None


# --- match: look-alikes stay apart -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "not_expected"),
    [
        ("Phòng Y tế", "Trung tâm Y tế"),
        ("Trung tâm Y tế", "Phòng Y tế"),
        ("Sở Y tế", "Phòng Y tế"),
        ("Trạm Y tế xã", "Trung tâm Y tế"),
        ("Sở Tài chính", "Phòng Tài chính - Kế hoạch"),
        ("Phòng Tài chính - Kế hoạch", "Sở Tài chính"),
        ("Sở Lao động - Thương binh và Xã hội", LĐTBXH),
        ("Công chức Lao động - Thương binh và Xã hội", LĐTBXH),
        ("Phòng Văn hóa - Xã hội", "Phòng Văn hóa và Thông tin"),
        ("Công an xã", "Công an"),
        ("Bộ Y tế", "Sở Y tế"),
    ],
)
def test_look_alike_bodies_stay_apart(registry: Registry, name: str, not_expected: str) -> None:
    found = canonical(registry, name)
    assert found is not None
    assert found != not_expected


@pytest.mark.parametrize(
    "name",
    [
        "Phòng Tài chính",
        "Phòng Lao động",
        "Phòng Văn hóa",
        "Trung tâm Y tế dự phòng",
        "Trung tâm Y tế Dự phòng",
        "Trung tâm Văn hóa Thông tin",
        "Ủy ban nhân dân",
        "Tổ chức triển khai thực hiện",
        "Kinh phí thực hiện",
        "Hội Nông dân tỉnh Bình Định tổ chức hội nghị",
        "Hội Nông dân xã tổ chức tuyên truyền",
        "Phòng Y tế huyện chủ trì",
        "Trường THCS Nguyễn Trãi",
        "",
        "   ",
        "...",
    ],
)
def test_names_the_registry_does_not_know_match_nothing(registry: Registry, name: str) -> None:
    assert registry.match(name) is None


# --- groups -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "UBND các xã, thị trấn",
        "Ủy ban nhân dân các xã, thị trấn",
        "Uỷ ban nhân dân các xã, phường, thị trấn",
        "UBND các xã, thị trấn trên địa bàn huyện",
        "Các phòng, ban, ngành có liên quan",
        "Các phòng ban, ngành liên quan",
        "các tổ chức chính trị - xã hội",
        "các tổ chức chính trị - xã hội Huyện",
        "các tổ chức thành viên",
        "Các thôn",
        "Các Trường",
        "Các sở, ban, ngành",
        "Các cơ quan, đơn vị có liên quan",
        "Các doanh nghiệp trên địa bàn",
    ],
)
def test_collective_bodies_are_flagged_as_groups(registry: Registry, name: str) -> None:
    agency = registry.match(name)
    assert agency is not None
    assert agency.group


def test_single_bodies_are_not_groups(registry: Registry) -> None:
    agency = registry.match("Ủy ban nhân dân xã")
    assert agency is not None
    assert not agency.group


# --- starts_like_agency ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Phòng Y tế",
        "phòng y tế",
        "Uỷ ban Mặt trận Tổ quốc",
        "Ủy ban nhân dân các xã",
        "UBND các xã, thị trấn",
        "NHCSXH huyện",
        "Trung tâm Y tế huyện",
        "Các phòng, ban, ngành",
        "Các Trường",
        "các tổ chức chính trị - xã hội",
        "Công chức Văn hóa - Xã hội",
        "Huyện đoàn",
        "Đồng chí Phó Chủ tịch UBND xã - Trưởng tiểu ban",
        "Hạt Kiểm lâm",
        "Các Tổ bầu cử",
        "Sở Ngoại vụ",
    ],
)
def test_texts_that_begin_like_a_body(registry: Registry, text: str) -> None:
    assert registry.starts_like_agency(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tổ chức triển khai thực hiện kế hoạch",
        "Trường hợp phát sinh vướng mắc",
        "Hội nghị sơ kết",
        "Phòng, chống dịch bệnh",
        "Ban hành kế hoạch",
        "Các nội dung trên",
        "Các chỉ tiêu chủ yếu",
        "Báo cáo kết quả",
        "Kinh phí thực hiện",
        "Phòngtư pháp",
        "",
    ],
)
def test_texts_that_do_not_begin_like_a_body(registry: Registry, text: str) -> None:
    assert not registry.starts_like_agency(text)


# --- the packaged data file -------------------------------------------------------------------


def test_packaged_file_has_broad_coverage(registry: Registry) -> None:
    levels = {a.level for a in registry.agencies}
    assert len(registry.agencies) >= 150
    assert levels == set(LEVELS)
    assert sum(a.group for a in registry.agencies) >= 10


def test_every_entry_has_a_unique_canonical_and_its_own_aliases(registry: Registry) -> None:
    owners: dict[str, str] = {}
    for agency in registry.agencies:
        assert agency.level in LEVELS
        assert agency.kind
        for name in (agency.canonical, *agency.aliases):
            key = fold(name)
            assert owners.setdefault(key, agency.canonical) == agency.canonical, name
            assert registry.match(name) == agency, name
    assert len({fold(a.canonical) for a in registry.agencies}) == len(registry.agencies)


def test_every_abbreviation_expands_to_words(registry: Registry) -> None:
    raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    for abbreviation, expansion in raw["abbreviations"].items():
        assert registry.expand(fold(abbreviation)) == fold(expansion), abbreviation


def gold_members() -> list[str]:
    members = []
    for path in sorted(FIXTURES.glob("*.gold.json")):
        for block in json.loads(path.read_text(encoding="utf-8"))["agencies"]:
            members.extend(block["members"])
    return members


@pytest.mark.parametrize("member", gold_members())
def test_every_member_in_the_gold_files_is_known(registry: Registry, member: str) -> None:
    agency = registry.match(member)
    assert agency is not None
    if fold(member).startswith(("các ", "ủy ban nhân dân các", "ubnd các")):
        assert agency.group


def gold_headings() -> list[tuple[str, list[str]]]:
    headings = []
    for path in sorted(FIXTURES.glob("**/*.gold.json")):
        for block in json.loads(path.read_text(encoding="utf-8")).get("agencies", []):
            headings.append((block["heading"], block["members"]))
    return headings


@pytest.mark.parametrize(("heading", "members"), gold_headings())
def test_a_gold_heading_is_one_body_only_when_it_names_one(
    registry: Registry, heading: str, members: list[str]
) -> None:
    whole = registry.match(heading.removeprefix("Đề nghị "))
    if len(members) > 1:
        assert whole is None
    elif whole is not None:
        assert whole == registry.match(members[0])


def test_default_registry_is_loaded_once(registry: Registry) -> None:
    assert default_registry() is registry
    assert registry.source == DATA_FILE


def test_known_phrases_lists_longer_names_first(registry: Registry) -> None:
    phrases = registry.known_phrases()
    assert phrases.index("Phòng Lao động - Thương binh và Xã hội") < phrases.index("Phòng Y tế")
    assert "Phòng LĐ-TB&XH" in phrases
    assert [len(p) for p in phrases] == sorted((len(p) for p in phrases), reverse=True)


# --- a registry of one's own -------------------------------------------------------------------

HEADER = """
head_nouns = ["Phòng", "Các"]
level_words = ["huyện", "xã"]
[abbreviations]
"TB&XH" = "Thương binh và Xã hội"
"""

ENTRY = """
[[agency]]
canonical = "{name}"
level = "huyen"
kind = "phong"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_administrator_can_add_a_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + ENTRY.format(name="Phòng Lao động - Thương binh và Xã hội")
        + 'aliases = ["Phòng LĐ-TB&XH"]\n'
        + ENTRY.format(name="Phòng Dân tộc"),
    )
    registry = Registry.load(path)
    assert canonical(registry, "Phòng Lao động - TB&XH huyện") == LĐTBXH
    assert canonical(registry, "Phòng Dân tộc huyện") == "Phòng Dân tộc"
    assert registry.match("Phòng Y tế") is None


def error_for(tmp_path: Path, text: str) -> RegistryError:
    path = write(tmp_path, text)
    with pytest.raises(RegistryError) as caught:
        Registry.load(path)
    assert str(path) in caught.value.message
    return caught.value


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, HEADER + '[[agency]]\ncanonical = "Phòng Y tế\n')
    assert error.code == "registry.bad_toml"
    assert "dòng 7" in error.message


@pytest.mark.parametrize(
    ("body", "code", "shown"),
    [
        ('[[agency]]\nlevel = "huyen"\nkind = "phong"\n', "registry.missing_field", "canonical"),
        (
            ENTRY.format(name="Phòng Y tế").replace("huyen", "district"),
            "registry.bad_level",
            "district",
        ),
        (
            ENTRY.format(name="Phòng Y tế").replace('"phong"', '"Phòng"'),
            "registry.bad_field",
            "kind",
        ),
        (
            ENTRY.format(name="Phòng Y tế") + 'alias = ["Phòng YT"]\n',
            "registry.unknown_field",
            "alias",
        ),
        (
            ENTRY.format(name="Phòng Y tế") + 'aliases = "Phòng YT"\n',
            "registry.bad_field",
            "aliases",
        ),
        (ENTRY.format(name="Phòng Y tế") + 'group = "yes"\n', "registry.bad_field", "group"),
        (
            ENTRY.format(name="Phòng Y tế") + ENTRY.format(name="Phòng Y Tế"),
            "registry.duplicate_name",
            "Phòng Y Tế",
        ),
        (
            ENTRY.format(name="Phòng Lao động - Thương binh và Xã hội")
            + ENTRY.format(name="Phòng LĐ")
            + 'aliases = ["Phòng Lao động - TB&XH"]\n',
            "registry.duplicate_name",
            "Phòng Lao động - TB&XH",
        ),
        ("", "registry.no_agencies", "[[agency]]"),
    ],
)
def test_a_malformed_entry_is_named(tmp_path: Path, body: str, code: str, shown: str) -> None:
    error = error_for(tmp_path, HEADER + body)
    assert error.code == code
    assert shown in error.message


def test_a_typo_in_a_setting_is_named(tmp_path: Path) -> None:
    error = error_for(
        tmp_path, 'head_noun = ["Phòng"]\n' + HEADER + ENTRY.format(name="Phòng Y tế")
    )
    assert error.code == "registry.unknown_key"
    assert "head_noun" in error.message


def test_missing_head_nouns_are_named(tmp_path: Path) -> None:
    text = HEADER.replace('head_nouns = ["Phòng", "Các"]', "") + ENTRY.format(name="Phòng Y tế")
    error = error_for(tmp_path, text)
    assert error.code == "registry.empty_list"
    assert "head_nouns" in error.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(RegistryError) as caught:
        Registry.load(path)
    assert caught.value.code == "registry.not_found"
    assert str(path) in caught.value.message


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "agencies.toml"
    path.write_bytes((HEADER + ENTRY.format(name="Phòng Y tế")).encode("utf-16"))
    with pytest.raises(RegistryError) as caught:
        Registry.load(path)
    assert caught.value.code == "registry.unreadable"
    assert str(path) in caught.value.message


def test_registry_errors_are_plan_errors_people_can_read(tmp_path: Path) -> None:
    error = error_for(tmp_path, HEADER)
    assert isinstance(error, PlanError)
    assert error.message.startswith("Tệp danh mục cơ quan")
