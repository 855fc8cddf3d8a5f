"""Turn extracted lines into paragraphs: undo PDF line wrapping, page breaks and footnote markers.

Text that comes out of a PDF (or was copied from one) is wrapped at the page width, often with a
blank line after every line, page breaks that start a line with a space, words hyphenated across a
page and footnote numbers on lines of their own. The parser wants one entry per paragraph, each
remembering the source line it started on, so that is what `paragraphs()` returns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# A line that starts a new item whatever came before: bullets, "1." / "1)" / "a)" / "IV." markers.
_ITEM_START = re.compile(
    r"""^(?:
        [-+•*–—‣◦▪·]\s*\S            # bullets
      | \d{1,2}(?:\.\d{1,2})*\s*[.)]  # 1.  1)  2.3.
        (?:\s|(?=[^\W\d_]))           # followed by a space or directly by a letter ("5.Tư pháp")
      | [a-zđ]\s*\)\s                 # a)
      | [a-zđ]\.\s+[^\W\d_]           # a. Phòng ...
      | [IVXLC]{1,6}\s*[.)/:–-]       # IV.  V-  (section numerals)
    )""",
    re.VERBOSE,
)
_TERMINAL = tuple(".;:!?…")
# The closing formula and recipients always start a paragraph of their own.
_CLOSING_START = re.compile(r"^(?:Trên\s+đây\s+là|Nơi\s+nhận\b)", re.I)
_FOOTNOTE_LINE = re.compile(r"^\(?\d{1,3}\)?$|^[¹²³⁴⁵⁶⁷⁸⁹⁰]+$")
_PAGE_NUMBER_LINE = re.compile(
    r"^(?:[-–]\s*)?(?:trang\s+)?\d{1,3}(?:\s*[-–])?(?:\s*/\s*\d{1,3})?$", re.I
)
# A footnote marker glued to a word: "nghèo(1)" or "nghèo¹" (a real "(1)" follows a space).
_INLINE_FOOTNOTE = re.compile(r"(?<=[^\W\d_])(?:\(\d{1,2}\)|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
# Letters lost by some PDF fonts ("l nh vực" for "lĩnh vực"); only whole, unambiguous words.
_LOST_LETTERS = {"l nh": "lĩnh", "ngh a": "nghĩa", "k thuật": "kỹ thuật", "k năng": "kỹ năng"}
_LOST_LETTERS_RE = re.compile(r"\b(?:" + "|".join(_LOST_LETTERS) + r")\b")


@dataclass
class Paragraph:
    """One paragraph: its clean text, the 1-based source line it starts on, and its source lines."""

    text: str
    line: int
    lines: list[str] = field(default_factory=list)


# A table row: the DOCX reader joins a row's cells with " | "; a text file may draw it the same way,
# or Markdown-style between outer pipes ("| 1 | Nội dung | Sở Y tế |").
_TABLE_ROW = re.compile(r"\s\|(?:\s|$)|^\|.*\|$")


def is_table_row(line: str) -> bool:
    return bool(_TABLE_ROW.search(line))


def clean_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = _SPACES.sub(" ", line).strip()
    line = _INLINE_FOOTNOTE.sub("", line)
    return line


def is_item_start(line: str) -> bool:
    return bool(_ITEM_START.match(line))


def _is_noise(line: str) -> bool:
    return bool(_FOOTNOTE_LINE.match(line) or _PAGE_NUMBER_LINE.match(line))


def _starts_lower(line: str) -> bool:
    first = line[:1]
    return first.isalpha() and first.islower()


def _is_caps(line: str) -> bool:
    return len(line) >= 4 and line.isupper()


def _ends_sentence(line: str) -> bool:
    return line.endswith(_TERMINAL) or line.endswith(("./.", '."', ".”", ")."))


def _detect_layout(lines: list[str]) -> tuple[bool, bool, int]:
    """(hard_wrapped, blank_lines_are_noise, wrap_width) guessed from the cleaned lines."""
    content = [i for i, line in enumerate(lines) if line]
    if not content:
        return False, False, 0
    followed_by_blank = sum(1 for i in content if i + 1 < len(lines) and not lines[i + 1])
    blank_noise = followed_by_blank >= 0.6 * len(content)
    cleaned = [lines[i] for i in content]
    wraps = sum(
        1
        for a, b in zip(cleaned, cleaned[1:], strict=False)
        if a and not _ends_sentence(a) and _starts_lower(b)
    )
    lengths = sorted(len(c) for c in cleaned)
    width = lengths[int(0.9 * (len(lengths) - 1))]
    hard_wrapped = wraps >= 0.08 * len(cleaned) and width <= 160
    return hard_wrapped, blank_noise, width


def _join(left: str, right: str) -> str:
    """Join a wrapped line to the next, undoing hyphenation across lines ("GN-" + "GQVL")."""
    if left.endswith("-") and not left.endswith(" -") and not right.startswith("-"):
        return left + right
    return f"{left} {right}"


def repair_lost_letters(text: str) -> str:
    return _LOST_LETTERS_RE.sub(lambda m: _LOST_LETTERS[m.group(0)], text)


def paragraphs(raw_lines: list[str], hard_wrapped: bool | None = None) -> list[Paragraph]:
    """Group extracted lines into paragraphs.

    `hard_wrapped` says whether line ends are layout (PDF) rather than paragraph ends (DOCX);
    None means guess it from the text.
    """
    # Page breaks vanish: the text on either side may belong to one paragraph.
    numbered = [(n, clean_line(raw)) for n, raw in enumerate(raw_lines, start=1) if raw != "\f"]
    # Table rows are neither wrapped text nor paragraphs: leave them out of the layout guess.
    guessed_wrapped, blank_noise, width = _detect_layout(
        [line for _, line in numbered if not is_table_row(line)]
    )
    wrapped = guessed_wrapped if hard_wrapped is None else hard_wrapped
    # Unless the reader knows lines are paragraphs (DOCX), a line that starts in lower case after
    # one that does not end a sentence continues it, whatever the layout.
    may_continue = hard_wrapped is not False
    full_width = 0.72 * width

    result: list[Paragraph] = []
    current: Paragraph | None = None
    previous = ""
    gap = False  # a meaningful blank line since the previous content line
    blanks = 0  # blank lines in a row; two of them separate paragraphs even in double-spaced text
    for number, line in numbered:
        if not line:
            blanks += 1
            gap = gap or not blank_noise or blanks >= 2
            continue
        blanks = 0
        if _is_noise(line) and not (current and previous.endswith(("số", "ngày", "năm"))):
            continue
        # A clause after ";" or ":" in lower case is the same paragraph; after "." it is not.
        continues = (
            _starts_lower(line) and not previous.endswith((".", "!", "?", "…")) and may_continue
        )
        # A full line runs on into the next; after a full stop only a really full one does.
        full = len(previous) >= (0.9 * width if _ends_sentence(previous) else full_width)
        starts_new = (
            current is None
            or gap
            or is_item_start(line)
            or _CLOSING_START.match(line) is not None
            or is_table_row(line)  # a row is one paragraph, and nothing runs on from it
            or is_table_row(previous)
            or _is_caps(previous) != _is_caps(line)  # a heading in capitals is its own paragraph
            or not (continues or (wrapped and full))
        )
        if starts_new or current is None:
            current = Paragraph(text=line, line=number, lines=[line])
            result.append(current)
        else:
            current.text = _join(current.text, line)
            current.lines.append(line)
        previous = line
        gap = False
    for paragraph in result:
        paragraph.text = repair_lost_letters(paragraph.text)
    return result
