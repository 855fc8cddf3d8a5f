"""Read an uploaded plan (plain text, DOCX or PDF) into lines of text for the parser."""

from __future__ import annotations

import codecs
import io
import logging
import math
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal

import docx
from docx.oxml.ns import qn
from pypdf import PasswordType, PdfReader

from service.plans.errors import PlanError

MAX_BYTES = 100 * 1024 * 1024

# pypdf reports recoverable damage through logging; people only need our one error message.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class RawDocument:
    format: Literal["txt", "docx", "pdf"]
    lines: list[str]
    hard_wrapped: bool | None


def read_file(path: Path) -> RawDocument:
    """Read a plan from disk, refusing an oversized file before loading it into memory."""
    if not path.exists():
        raise PlanError("read.not_found", path=str(path))
    try:
        _check_size(path.stat().st_size)
        with path.open("rb") as f:
            # Bounded read: the file may have grown since stat().
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PlanError("read.unreadable", path=str(path)) from exc
    return read_bytes(data, path.name)


def read_bytes(data: bytes, filename: str) -> RawDocument:
    """Read a plan from its bytes: the content decides the format, the name only breaks ties."""
    _check_size(len(data))
    if not data.strip():
        raise PlanError("read.empty")
    suffix = PurePath(filename).suffix.lower()
    if b"%PDF-" in data[:1024]:
        return _read_pdf(data)
    if data.startswith(_ZIP_MAGIC):
        if _is_word_package(data):
            return _read_docx(data)
        raise PlanError("read.bad_docx" if suffix == ".docx" else "read.unsupported_format")
    if _is_other_binary_format(data):
        raise PlanError("read.unsupported_format")
    if suffix == ".docx":
        raise PlanError("read.bad_docx")
    if suffix == ".pdf":
        raise PlanError("read.bad_pdf")
    return _read_text(data)


def _check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise PlanError("read.too_large", size_mb=_megabytes(size), limit_mb=_megabytes(MAX_BYTES))


def _megabytes(size: int) -> str:
    # Rounded up, so a file just over the limit never reads as equal to it. Decimal comma.
    tenths = math.ceil(size * 10 / (1024 * 1024))
    whole, fraction = divmod(tenths, 10)
    return f"{whole},{fraction}" if fraction else str(whole)


# --- format sniffing ---------------------------------------------------------------------------

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OTHER_MAGIC = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2: legacy .doc/.xls/.ppt
    b"{\\rtf",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"RIFF",  # WebP, WAV, AVI
    b"\x7fELF",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
)
# A DOCX is small once unzipped; refuse archives that would expand into gigabytes.
_MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024


def _is_other_binary_format(data: bytes) -> bool:
    if data.startswith(_OTHER_MAGIC):
        return True
    # "MZ" alone could start a text line; an executable's DOS header has NULs right after it.
    return data.startswith(b"MZ") and b"\x00" in data[:64]


def _is_word_package(data: bytes) -> bool:
    """True for a zip holding a WordprocessingML document; False for any other zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_UNZIPPED_BYTES:
                return False
            content_types = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RuntimeError, EOFError):
        return False
    return b"wordprocessingml.document.main" in content_types


# --- plain text --------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Controls other than \t \n \r \f; NUL is handled before decoding.
_CONTROL = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f]")
# cp1258 decodes almost any byte, so check that the result reads like Vietnamese. It writes
# tones as combining marks after a vowel, so a mark anywhere else means another encoding; and a
# Vietnamese syllable has at most four non-ASCII characters ("Đường"), while double-byte CJK or
# Cyrillic text decodes into long runs of them.
_STRAY_TONE_MARK = re.compile("(?<![aăâeêioôơuưyAĂÂEÊIOÔƠUƯY])[\u0300\u0301\u0303\u0309\u0323]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f\s]{8,}")


def _read_text(data: bytes) -> RawDocument:
    text = _decode(data)
    controls = len(_CONTROL.findall(text))
    if controls * 100 > len(text):
        raise PlanError("read.binary")
    if controls:
        text = _CONTROL.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise PlanError("read.empty")
    return RawDocument(format="txt", lines=_split_lines(_nfc(text)), hard_wrapped=None)


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise PlanError("read.unknown_encoding") from exc
    if b"\x00" in data:
        utf16 = _utf16_by_nul_pattern(data)
        if utf16 is None:
            raise PlanError("read.binary")
        try:
            return data.decode(utf16)
        except UnicodeDecodeError as exc:
            raise PlanError("read.binary") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise PlanError("read.unknown_encoding") from exc
    if _STRAY_TONE_MARK.search(text) or _NON_ASCII_RUN.search(text):
        raise PlanError("read.unknown_encoding")
    return text


def _utf16_by_nul_pattern(data: bytes) -> str | None:
    """UTF-16 without a BOM: Vietnamese and ASCII code units have a NUL high byte, rarely a low."""
    sample = data[:8192]
    if len(sample) % 2:
        sample = sample[:-1]
    half = len(sample) // 2
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls >= half * 0.3 and even_nuls <= half * 0.02:
        return "utf-16-le"
    if even_nuls >= half * 0.3 and odd_nuls <= half * 0.02:
        return "utf-16-be"
    return None


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\f" not in text:
        return lines
    result: list[str] = []
    for line in lines:
        pieces = line.split("\f")
        for index, piece in enumerate(pieces):
            if index:
                result.append("\f")
            if piece or len(pieces) == 1:
                result.append(piece)
    return result


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


# --- DOCX --------------------------------------------------------------------------------------

_P = qn("w:p")
_T = qn("w:t")
_TAB = qn("w:tab")
_TBL = qn("w:tbl")
_TR = qn("w:tr")
_TC = qn("w:tc")
_TC_PR = qn("w:tcPr")
_GRID_SPAN = qn("w:gridSpan")
_V_MERGE = qn("w:vMerge")
_VAL = qn("w:val")
_MAX_COLUMNS = 63  # Word's own limit
_BREAKS = frozenset({qn("w:br"), qn("w:cr")})
_NO_BREAK_HYPHEN = qn("w:noBreakHyphen")
# Deleted revisions, text boxes (their own paragraphs) and compatibility fallbacks (duplicates).
_SKIPPED = frozenset(
    {
        qn("w:pPr"),
        qn("w:rPr"),
        qn("w:del"),
        qn("w:moveFrom"),
        qn("w:txbxContent"),
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
    }
)


def _read_docx(data: bytes) -> RawDocument:
    try:
        document = docx.Document(io.BytesIO(data))
        numbering = _Numbering(document.part.numbering_part.element, document.styles.element)

        def render(paragraph: Any) -> str:
            text = _paragraph_text(paragraph)
            label = numbering.label(paragraph)
            return f"{label} {text}" if label and text else label or text

        lines = []
        for row in _rows(document.element.body):
            # A table row is one line, its cells joined by " | "; a paragraph is one line.
            cells = [" ".join(filter(None, (render(p).strip() for p in cell))) for cell in row]
            line = " | ".join(cells) if len(cells) > 1 else cells[0]
            lines.append(_nfc(_CONTROL.sub("", line)))
    except Exception as exc:
        raise PlanError("read.bad_docx") from exc
    if not any(line.strip() for line in lines):
        raise PlanError("read.empty")
    return RawDocument(format="docx", lines=lines, hard_wrapped=False)


def _rows(element: Any) -> Iterator[list[list[Any]]]:
    """The body in document order as lines of cells of paragraphs: a paragraph is a line of one
    cell; a table row is a line of its cells. Nested tables are flattened into their cell."""
    for child in element:
        if child.tag == _P:
            yield [[child]]
        elif child.tag == _TBL:
            yield from _table_rows(child)
        elif child.tag not in _SKIPPED:
            yield from _rows(child)


def _table_rows(table: Any) -> Iterator[list[list[Any]]]:
    """A table's rows as laid out on the grid, so that a row's cells line up with its header's.

    A cell spanning several columns (w:gridSpan) is followed by an empty cell for each further
    column; a cell that continues a vertical merge (w:vMerge) reads as the cell the merge started
    in, since that text applies to every row it spans.
    """
    merged: dict[int, list[Any]] = {}  # grid column -> paragraphs of the cell a merge started in
    for row in table.iter(_TR):
        if row.getparent() is not table:
            continue
        cells: list[list[Any]] = []
        column = 0
        for cell in row:
            if cell.tag != _TC:
                continue
            properties = cell.find(_TC_PR)
            span = _int(_val(properties.find(_GRID_SPAN)), 1) if properties is not None else 1
            span = min(max(span, 1), _MAX_COLUMNS)  # a forged span must not make millions of cells
            merge = properties.find(_V_MERGE) if properties is not None else None
            content = list(_paragraphs(cell))
            if merge is None:
                merged.pop(column, None)
            elif merge.get(_VAL) == "restart":
                merged[column] = content
            else:
                content = merged.get(column, content)
            cells.append(content)
            cells.extend([] for _ in range(span - 1))
            column += span
        yield cells


def _paragraphs(element: Any) -> Iterator[Any]:
    """Paragraphs in document order, descending into nested elements but not into a paragraph's
    own text boxes."""
    for child in element:
        if child.tag == _P:
            yield child
        elif child.tag not in _SKIPPED:
            yield from _paragraphs(child)


def _paragraph_text(paragraph: Any) -> str:
    parts: list[str] = []

    def walk(element: Any) -> None:
        for child in element:
            tag = child.tag
            if tag == _T:
                parts.append(child.text or "")
            elif tag == _TAB:
                parts.append("\t")
            elif tag in _BREAKS:
                # One paragraph is one line: a soft line break is only layout.
                parts.append(" ")
            elif tag == _NO_BREAK_HYPHEN:
                parts.append("-")
            elif tag not in _SKIPPED:
                walk(child)

    walk(paragraph)
    return "".join(parts)


@dataclass(frozen=True)
class _Level:
    start: int
    fmt: str
    text: str
    legal: bool
    style: str | None


@dataclass
class _Num:
    abstract_id: str
    levels: dict[int, _Level]
    start_overrides: dict[int, int] = field(default_factory=dict)


class _Numbering:
    """Renders Word's automatic numbering, which lives in numbering.xml rather than in the text.

    As in Word, the running count belongs to the abstract definition, shared by every w:num
    that uses it; a w:num with a startOverride restarts that count where it first appears.
    """

    def __init__(self, numbering: Any, styles: Any) -> None:
        self._style_numpr: dict[str, tuple[str | None, int | None, str | None]] = {}
        for style in styles.iterchildren(qn("w:style")):
            num_id, ilvl = _numpr(style.find(qn("w:pPr")))
            based_on = style.find(qn("w:basedOn"))
            self._style_numpr[style.get(qn("w:styleId"), "")] = (
                num_id,
                ilvl,
                based_on.get(qn("w:val")) if based_on is not None else None,
            )
        abstracts: dict[str, Any] = {
            a.get(qn("w:abstractNumId"), ""): a for a in numbering.iterchildren(qn("w:abstractNum"))
        }
        num_to_abstract: dict[str, str] = {
            n.get(qn("w:numId"), ""): _val(n.find(qn("w:abstractNumId"))) or ""
            for n in numbering.iterchildren(qn("w:num"))
        }
        self._nums: dict[str, _Num] = {}
        for num in numbering.iterchildren(qn("w:num")):
            abstract_id = self._resolve_link(
                num_to_abstract[num.get(qn("w:numId"), "")], abstracts, num_to_abstract
            )
            abstract = abstracts.get(abstract_id)
            if abstract is None:
                continue
            entry = _Num(abstract_id, _levels(abstract))
            for override in num.iterchildren(qn("w:lvlOverride")):
                ilvl = _int(override.get(qn("w:ilvl")), 0)
                start = _val(override.find(qn("w:startOverride")))
                if start is not None:
                    entry.start_overrides[ilvl] = _int(start, 0)
                lvl = override.find(qn("w:lvl"))
                if lvl is not None:
                    entry.levels[ilvl] = _level(lvl)
            self._nums[num.get(qn("w:numId"), "")] = entry
        self._counters: dict[str, dict[int, int]] = {}
        self._entered: set[tuple[str, int]] = set()

    def _resolve_link(
        self, abstract_id: str, abstracts: dict[str, Any], num_to_abstract: dict[str, str]
    ) -> str:
        # An abstractNum with numStyleLink borrows the definition of the list its style names.
        for _ in range(5):
            abstract = abstracts.get(abstract_id)
            link = _val(abstract.find(qn("w:numStyleLink"))) if abstract is not None else None
            if link is None:
                break
            num_id, _ilvl, _based = self._style_numpr.get(link, (None, None, None))
            if num_id is None or num_id not in num_to_abstract:
                break
            abstract_id = num_to_abstract[num_id]
        return abstract_id

    def label(self, paragraph: Any) -> str:
        """The rendered number of a paragraph ("1.", "a)", "IV.", "-" for bullets), or ""."""
        num_id, ilvl, style_id = self._paragraph_numpr(paragraph)
        num = self._nums.get(num_id or "")
        if num is None:
            return ""
        if ilvl is None:
            ilvl = next(
                (i for i, lvl in num.levels.items() if style_id and lvl.style == style_id), 0
            )
        level = num.levels.get(ilvl)
        if level is None:
            return ""
        counters = self._counters.setdefault(num.abstract_id, {})
        if (num_id or "", ilvl) not in self._entered:
            self._entered.add((num_id or "", ilvl))
            if ilvl in num.start_overrides:
                counters.pop(ilvl, None)
        start = num.start_overrides.get(ilvl, level.start)
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start
        for deeper in [i for i in counters if i > ilvl]:
            del counters[deeper]
        if level.fmt == "bullet":
            return "-"
        return self._render(num, level, counters)

    def _render(self, num: _Num, level: _Level, counters: dict[int, int]) -> str:
        def placeholder(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            shown = num.levels.get(index)
            if shown is None:
                return ""
            value = counters.get(index, num.start_overrides.get(index, shown.start))
            return _format_number(value, "decimal" if level.legal else shown.fmt)

        label = re.sub(r"%([1-9])", placeholder, level.text).strip()
        if label and not any(ch.isalnum() for ch in label) and "%" not in level.text:
            return "-"  # a literal glyph standing in for a bullet
        return label

    def _paragraph_numpr(self, paragraph: Any) -> tuple[str | None, int | None, str | None]:
        ppr = paragraph.find(qn("w:pPr"))
        num_id, ilvl = _numpr(ppr)
        style_id = _val(ppr.find(qn("w:pStyle"))) if ppr is not None else None
        if style_id is not None and (num_id is None or ilvl is None):
            style_num_id, style_ilvl = self._style_chain_numpr(style_id)
            if num_id is None:
                num_id = style_num_id
                ilvl = ilvl if ilvl is not None else style_ilvl
        if num_id is None or num_id == "0":
            return None, None, None
        return num_id, ilvl, style_id

    def _style_chain_numpr(self, style_id: str) -> tuple[str | None, int | None]:
        for _ in range(10):
            entry = self._style_numpr.get(style_id)
            if entry is None:
                break
            num_id, ilvl, based_on = entry
            if num_id is not None:
                return num_id, ilvl
            if based_on is None:
                break
            style_id = based_on
        return None, None


def _numpr(ppr: Any) -> tuple[str | None, int | None]:
    numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
    if numpr is None:
        return None, None
    ilvl = _val(numpr.find(qn("w:ilvl")))
    return _val(numpr.find(qn("w:numId"))), (_int(ilvl, 0) if ilvl is not None else None)


def _levels(abstract: Any) -> dict[int, _Level]:
    return {
        _int(lvl.get(qn("w:ilvl")), 0): _level(lvl) for lvl in abstract.iterchildren(qn("w:lvl"))
    }


def _level(lvl: Any) -> _Level:
    return _Level(
        start=_int(_val(lvl.find(qn("w:start"))), 0),
        fmt=_val(lvl.find(qn("w:numFmt"))) or "decimal",
        text=_val(lvl.find(qn("w:lvlText"))) or "",
        legal=lvl.find(qn("w:isLgl")) is not None,
        style=_val(lvl.find(qn("w:pStyle"))),
    )


def _val(element: Any) -> str | None:
    return element.get(qn("w:val")) if element is not None else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


_ROMAN = (
    (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
    (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
)  # fmt: skip


def _format_number(value: int, fmt: str) -> str:
    if fmt == "none":
        return ""
    if value > 0 and fmt in ("lowerLetter", "upperLetter"):
        # Word goes a..z, then aa, bb, ...
        letters = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letters.upper() if fmt == "upperLetter" else letters
    if 0 < value < 4000 and fmt in ("lowerRoman", "upperRoman"):
        roman = ""
        for amount, digits in _ROMAN:
            count, value = divmod(value, amount)
            roman += digits * count
        return roman.upper() if fmt == "upperRoman" else roman
    if fmt == "decimalZero" and 0 <= value < 10:
        return f"0{value}"
    # Other formats (ordinal text, East Asian counting, ...) fall back to digits.
    return str(value)


# --- PDF ---------------------------------------------------------------------------------------


def _read_pdf(data: bytes) -> RawDocument:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and _decrypt_without_password(reader) is False:
                raise PlanError("read.encrypted_pdf")
            pages = [page.extract_text() or "" for page in reader.pages]
    except PlanError:
        raise
    except Exception as exc:
        raise PlanError("read.bad_pdf") from exc
    if not pages:
        raise PlanError("read.empty")
    if not any(page.strip() for page in pages):
        raise PlanError("read.needs_ocr")
    lines: list[str] = []
    for index, page in enumerate(pages):
        if index:
            lines.append("\f")
        text = _CONTROL.sub("", page.replace("\x00", "")).replace("\r\n", "\n").replace("\r", "\n")
        lines.extend(_split_lines(_nfc(text)) if text else [])
    return RawDocument(format="pdf", lines=lines, hard_wrapped=True)


def _decrypt_without_password(reader: PdfReader) -> bool:
    """Many PDFs are encrypted only to restrict printing or copying; "" opens those."""
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:
        return False
