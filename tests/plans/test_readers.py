"""The document readers: what text the parser (and so the user) gets from a .txt, .docx or .pdf."""

from __future__ import annotations

import io
import logging
import random
import unicodedata
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from service.plans.errors import PlanError
from service.plans.readers import MAX_BYTES, RawDocument, read_bytes, read_file

FIXTURES = Path(__file__).parent.parent / "fixtures"
DOCS = FIXTURES / "docs"
PLAN = FIXTURES / "plans" / "thanh-liem-2021.txt"
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def plan_lines() -> list[str]:
    lines = PLAN.read_bytes().decode("utf-8").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def read_error(data: bytes, filename: str) -> PlanError:
    with pytest.raises(PlanError) as caught:
        read_bytes(data, filename)
    return caught.value


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: base letters precomposed, the tone as a combining mark."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


# --- plain text --------------------------------------------------------------------------------


def test_utf8_plan_keeps_every_line_as_it_is() -> None:
    document = read_file(PLAN)

    assert document == RawDocument(format="txt", lines=plan_lines(), hard_wrapped=None)
    assert "V. TỔ CHỨC THỰC HIỆN " in document.lines


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("utf-8 with BOM", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf-16 with BOM", lambda text: text.encode("utf-16")),
        ("utf-16-le without BOM", lambda text: text.encode("utf-16-le")),
        ("utf-16-be without BOM", lambda text: text.encode("utf-16-be")),
        ("windows-1258", cp1258),
    ],
)
def test_other_encodings_give_the_same_lines_as_utf8(
    name: str, encode: Callable[[str], bytes]
) -> None:
    data = encode(PLAN.read_bytes().decode("utf-8"))

    document = read_bytes(data, "ke-hoach.txt")

    assert document.lines == plan_lines(), name


def test_windows_1258_tone_marks_come_back_precomposed() -> None:
    data = cp1258("Phòng Lao động - Thương binh và Xã hội\r\n")
    assert "\u0300".encode("cp1258") in data  # the tone really is a separate byte

    document = read_bytes(data, "ke-hoach.txt")

    assert document.lines == ["Phòng Lao động - Thương binh và Xã hội"]
    assert unicodedata.is_normalized("NFC", document.lines[0])


def test_decomposed_utf8_is_normalised_to_nfc() -> None:
    data = unicodedata.normalize("NFD", "Ủy ban nhân dân huyện\n").encode("utf-8")

    assert read_bytes(data, "a.txt").lines == ["Ủy ban nhân dân huyện"]


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_are_normalised(newline: str) -> None:
    data = newline.join(["1. Phòng Y tế:", "- Khám chữa bệnh", ""]).encode("utf-8")

    assert read_bytes(data, "a.txt").lines == ["1. Phòng Y tế:", "- Khám chữa bệnh"]


def test_form_feed_becomes_a_page_break_line() -> None:
    data = "trang một\n\f trang hai\fđầu trang ba\n\f".encode()

    assert read_bytes(data, "a.txt").lines == [
        "trang một",
        "\f",
        " trang hai",
        "\f",
        "đầu trang ba",
        "\f",
    ]


def test_a_stray_control_character_is_dropped_not_fatal() -> None:
    data = ("Kế hoạch số 12/KH-UBND\x1a\n" + "nội dung kế hoạch\n" * 20).encode("utf-8")

    assert read_bytes(data, "a.txt").lines[0] == "Kế hoạch số 12/KH-UBND"


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\t\n", "\ufeff  \n".encode(), "  \n".encode("utf-16"), b"\f\n\f"],
    ids=["empty", "whitespace", "utf-8 BOM only", "utf-16 whitespace", "page breaks only"],
)
def test_empty_text_is_refused(data: bytes) -> None:
    error = read_error(data, "trong.txt")

    assert error.code == "read.empty"
    assert error.message == "Tệp rỗng: không có nội dung để đọc."


def test_broken_utf16_after_a_bom_is_an_unknown_encoding() -> None:
    data = b"\xff\xfe" + "Kế hoạch".encode("utf-16-le") + b"\x00\xd8"  # lone surrogate

    assert read_error(data, "ke-hoach.txt").code == "read.unknown_encoding"


def test_random_bytes_are_binary() -> None:
    data = random.Random(3).randbytes(4096)

    assert read_error(data, "ke-hoach.txt").code == "read.binary"


def test_text_full_of_control_characters_is_binary() -> None:
    data = b"Ke hoach" + bytes(range(1, 9)) * 40

    error = read_error(data, "ke-hoach.txt")

    assert error.code == "read.binary"
    assert "nhị phân" in error.message


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("中华人民共和国国务院关于加强社会保障工作的通知", "gbk"),
        ("日本国民は正当に選挙された国会における代表者を通じて行動し", "shift_jis"),
        ("Российская Федерация: план мероприятий", "koi8-r"),
    ],
)
def test_text_in_a_foreign_encoding_is_refused(text: str, encoding: str) -> None:
    error = read_error(text.encode(encoding), "ke-hoach.txt")

    assert error.code == "read.unknown_encoding"
    assert "UTF-8" in error.message


# --- size and files on disk ----------------------------------------------------------------------


def test_bytes_over_the_limit_are_refused() -> None:
    error = read_error(bytes(MAX_BYTES + 1), "lon.txt")

    assert error.code == "read.too_large"
    assert error.message == "Tệp quá lớn (100,1 MB); giới hạn là 100 MB."


def test_read_file_refuses_a_huge_file_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lon.txt"
    with path.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no 100 MB written

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(PlanError) as caught:
        read_file(path)

    assert caught.value.code == "read.too_large"
    assert caught.value.params == {"size_mb": "100,1", "limit_mb": "100"}


def test_read_file_at_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "vua-du.txt"
    with path.open("wb") as f:
        f.write("Kế hoạch\n".encode())
        f.truncate(MAX_BYTES)

    # Not refused for size: the zero padding then makes it binary.
    with pytest.raises(PlanError) as caught:
        read_file(path)
    assert caught.value.code == "read.binary"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "khong-co.docx"

    with pytest.raises(PlanError) as caught:
        read_file(path)

    assert caught.value.code == "read.not_found"
    assert caught.value.message == f"Không tìm thấy tệp {path}."


def test_a_directory_is_not_readable(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        read_file(tmp_path)

    assert caught.value.code == "read.unreadable"
    assert str(tmp_path) in caught.value.message


# --- DOCX ----------------------------------------------------------------------------------------


def test_docx_renders_word_numbering_and_bullets_in_document_order() -> None:
    document = read_file(DOCS / "numbered.docx")

    assert document.format == "docx"
    assert document.hard_wrapped is False
    assert document.lines == [
        "ỦY BAN NHÂN DÂN HUYỆN THANH LIÊM",
        "KẾ HOẠCH",
        "Triển khai thực hiện Chương trình giảm nghèo bền vững năm 2024",
        "IV. TỔ CHỨC THỰC HIỆN",
        "1. Phòng Lao động - Thương binh và Xã hội:",
        "- Là cơ quan thường trực, chủ trì, phối hợp với các ngành tổ chức triển khai kế hoạch.",
        # A soft line break inside the paragraph becomes a space: one paragraph, one line.
        "- Định kỳ tổng hợp kết quả thực hiện, báo cáo Ủy ban nhân dân huyện.",
        # The table: a line per row, its cells joined by " | ".
        "Báo cáo | Thời hạn",
        "Báo cáo 6 tháng | Trước ngày 10/6",
        "Báo cáo năm | Trước ngày 10/11",
        "2. Phòng Tài chính - Kế hoạch:",
        "a) Về kinh phí:",
        "- Tham mưu bố trí kinh phí thực hiện Chương trình giảm nghèo.",
        "b) Về kiểm tra, giám sát:",
        "- Hướng dẫn quản lý và sử dụng kinh phí theo quy định.",
        "3. Ủy ban nhân dân các xã, thị trấn:",
        "- Rà soát hộ nghèo, hộ cận nghèo theo đúng quy trình quy định.",
        "- Báo cáo kết quả 06 tháng (trước ngày 10/6), năm (trước ngày 10/11).",
        "V. CHẾ ĐỘ BÁO CÁO",
    ]


def test_docx_fixture_numbers_are_not_in_the_text() -> None:
    # Guards the fixture itself: the labels above must come from numbering.xml.
    with zipfile.ZipFile(DOCS / "numbered.docx") as archive:
        xml = archive.read("word/document.xml").decode("utf-8")

    assert "<w:numPr>" in xml
    assert ">1. Phòng" not in xml
    assert ">Phòng Lao động - Thương binh và Xã hội:<" in xml
    assert ">- " not in xml


def test_docx_numbering_variants() -> None:
    document = read_file(DOCS / "numbering-variants.docx")

    assert document.lines == [
        "IV. TỔ CHỨC THỰC HIỆN",  # upperRoman starting at 4
        "1. Khối một",
        "1.1. Việc một",  # "%1.%2."
        "1.2. Việc hai",
        "2. Khối hai",
        "2.1. Việc của khối hai",  # a deeper level restarts under a new parent
        "3. Khối ba, danh sách khác cùng định nghĩa",  # another w:num, same list: continues
        "1. Bắt đầu lại",  # a w:num with startOverride restarts
        "V. CHẾ ĐỘ BÁO CÁO",
        "1) Mục có ngoặc",
        "A. Mục chữ hoa",
        "- Mục gạch ngang",  # a literal dash glyph as the level text
        "- Gạch đầu dòng theo kiểu",  # numbering inherited from the List Bullet style
        "1. Số theo kiểu",
        "2. Số theo kiểu thứ hai",
        "Kiểu có số nhưng đã tắt",  # numId 0 switches the style's numbering off
        "",
        "2) Trong bảng",  # a numbered paragraph in a table cell shares the list's count
    ]


def test_docx_without_text_is_empty() -> None:
    buffer = io.BytesIO()
    blank = docx.Document()
    blank.add_paragraph("   ")
    blank.save(buffer)

    assert read_error(buffer.getvalue(), "trong.docx").code == "read.empty"


def test_docx_is_recognised_by_content_whatever_its_name() -> None:
    data = (DOCS / "numbered.docx").read_bytes()

    assert read_bytes(data, "ke-hoach.txt").format == "docx"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_renamed_docx_is_a_bad_docx() -> None:
    data = _zip({"ke-hoach.txt": "Kế hoạch".encode()})

    error = read_error(data, "ke-hoach.docx")

    assert error.code == "read.bad_docx"
    assert error.message == "Tệp DOCX bị hỏng hoặc không phải tệp Word hợp lệ."


def test_plain_zip_is_unsupported() -> None:
    data = _zip({"ke-hoach.txt": "Kế hoạch".encode()})

    assert read_error(data, "ho-so.zip").code == "read.unsupported_format"


def test_text_renamed_docx_is_a_bad_docx() -> None:
    assert read_error("Kế hoạch".encode(), "ke-hoach.docx").code == "read.bad_docx"


def test_truncated_docx_is_a_bad_docx() -> None:
    data = (DOCS / "numbered.docx").read_bytes()

    assert read_error(data[: len(data) // 2], "ke-hoach.docx").code == "read.bad_docx"


def test_word_package_with_broken_xml_is_a_bad_docx() -> None:
    with zipfile.ZipFile(DOCS / "numbered.docx") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["word/document.xml"] = b"<w:document><w:body><w:p>"

    assert read_error(_zip(entries), "ke-hoach.docx").code == "read.bad_docx"


def test_legacy_doc_is_unsupported() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    error = read_error(data, "ke-hoach.doc")

    assert error.code == "read.unsupported_format"
    assert ".docx" in error.message


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "anh.png"),
        (b"\xff\xd8\xff\xe0" + bytes(64), "anh-chup.txt"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64), "setup.exe"),
    ],
    ids=["png", "jpeg named .txt", "exe"],
)
def test_other_formats_are_unsupported(data: bytes, filename: str) -> None:
    assert read_error(data, filename).code == "read.unsupported_format"


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_layer_page_by_page() -> None:
    document = read_file(DOCS / "plan.pdf")

    assert document.format == "pdf"
    assert document.hard_wrapped is True
    assert document.lines.count("\f") == 1
    assert document.lines[:3] == [
        "UỶ BAN NHÂN DÂN CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "HUYỆN THANH LIÊM Độc lập - Tự do - Hạnh phúc Số: Thanh Liêm, ngày tháng năm 2021",
        "KẾ HOẠCH",
    ]
    assert "V. TỔ CHỨC THỰC HIỆN" in document.lines
    assert all(unicodedata.is_normalized("NFC", line) for line in document.lines)


def test_pdf_lines_are_wrapped_by_the_layout() -> None:
    lines = read_file(DOCS / "plan.pdf").lines
    start = lines.index("II. MỤC TIÊU") + 1

    # One paragraph in the source, three lines on the page.
    assert lines[start : start + 3] == [
        "1. Mục tiêu Cải thiện đời sống, tăng thu nhập của người dân; tạo điều kiện cho người"
        " nghèo, hộ nghèo, hộ",
        "cận nghèo tiếp cận một cách tốt nhất đến các dịch vụ xã hội cơ bản (y tế, giáo dục,"
        " điều kiện sống, thông",
        "tin, bảo hiểm và trợ giúp xã hội); hạn chế tái nghèo.",
    ]


def test_pdf_paragraph_can_run_across_the_page_break() -> None:
    lines = read_file(DOCS / "plan.pdf").lines
    page_break = lines.index("\f")

    assert lines[page_break - 1].startswith("1. Phòng Lao động - Thương binh và Xã hội:")
    assert lines[page_break + 1] == "nhân dân huyện chỉ đạo công tác giảm nghèo trên địa bàn huyện."


def test_pdf_is_recognised_by_content_whatever_its_name() -> None:
    data = (DOCS / "plan.pdf").read_bytes()

    assert read_bytes(data, "ke-hoach.docx").format == "pdf"


def test_scanned_pdf_needs_ocr() -> None:
    with pytest.raises(PlanError) as caught:
        read_file(DOCS / "scanned.pdf")

    assert caught.value.code == "read.needs_ocr"
    assert "OCR" in caught.value.message


def test_password_protected_pdf_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        read_file(DOCS / "encrypted.pdf")

    assert caught.value.code == "read.encrypted_pdf"
    assert "mật khẩu" in caught.value.message


def test_pdf_with_only_an_owner_password_is_read() -> None:
    document = read_file(DOCS / "restricted.pdf")

    assert document.lines == [
        "KẾ HOẠCH",
        "Triển khai thực hiện Chương trình giảm nghèo bền vững",
    ]


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"%PDF-1.7\n" + random.Random(5).randbytes(2048), "ke-hoach.pdf"),
        ((DOCS / "plan.pdf").read_bytes()[:8000], "ke-hoach.pdf"),
        ("Kế hoạch".encode(), "ke-hoach.pdf"),
    ],
    ids=["header then garbage", "truncated", "text renamed .pdf"],
)
def test_corrupt_pdf_is_a_bad_pdf_and_says_nothing_else(
    data: bytes, filename: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        error = read_error(data, filename)

    assert error.code == "read.bad_pdf"
    assert error.message == "Tệp PDF bị hỏng hoặc không đọc được."
    assert caplog.records == []
