"""A plan's identity from its header (Decree 30/2020 layout): issuer, number, date, title, years."""

from __future__ import annotations

import re
from datetime import date

from service.plans.schemas import PlanMeta
from service.plans.text import Paragraph, clean_line

HEADER_LINES = 40  # the issuer, number, place-and-date and title sit in the first lines
_MOTTO = re.compile(r"CỘNG\s+H[OÒ][AÀ]|Độc\s+lập\s*[-–]|Đ[ộo]c\s+l[ậa]p\s*-\s*T[ựu]\s+do", re.I)
_NUMBER = re.compile(
    r"\bSố\s*:?\s*(?P<number>\d[\w.]*\s*/\s*[\w.Đđ&-]+(?:\s*/\s*[\w.Đđ&-]+)?)", re.I
)
_ISSUED = re.compile(
    r"ngày\s+(?P<day>[0-3]?\d)\s+tháng\s+(?P<month>[01]?\d)\s+năm\s+(?P<year>(?:19|20)\d\d)", re.I
)
_PLACE_DATE_YEAR = re.compile(r",\s*ngày\b.*?năm\s+(?P<year>(?:19|20)\d\d)", re.I)
_PLAN_WORD = re.compile(r"^(?:KẾ\s+HOẠCH|K[ẾE]\s*HO[ẠA]CH)\b\.?$", re.I)
_ORG_START = re.compile(
    r"^(?:ỦY|UỶ|UBND|HĐND|SỞ|BAN|BỘ|ỦY BAN|UỶ BAN|MẶT TRẬN|HỘI|ĐOÀN|TỈNH|HUYỆN|XÃ|PHƯỜNG"
    r"|THỊ|THÀNH|QUẬN|PHÒNG|TRUNG TÂM|CHI CỤC|CỤC|TỔNG CỤC|VĂN PHÒNG|ĐẢNG|HỘI ĐỒNG|LIÊN)",
)
_LEVEL_WORDS = (
    "huyện",
    "tỉnh",
    "xã",
    "phường",
    "thị trấn",
    "thị xã",
    "thành phố",
    "quận",
    "đặc khu",
)
_ISSUER_IN_TEXT = re.compile(
    r"(?P<issuer>(?:Ủy|Uỷ)\s+ban\s+nhân\s+dân\s+(?:"
    + "|".join(_LEVEL_WORDS)
    + r")(?:\s+[A-ZĐÂĂÊÔƠƯÁÀẢÃẠ][\w]*)*)\s+(?:ban\s+hành|xây\s+dựng)",
    re.I,
)
_YEAR_RANGE = re.compile(
    r"(?:giai\s+đoạn|từ\s+năm)\s+((?:19|20)\d\d)\s*(?:[-–—]|đến(?:\s+năm)?)\s*((?:19|20)\d\d)", re.I
)
_TO_YEAR = re.compile(r"(?:đến|tới)\s+năm\s+((?:19|20)\d\d)", re.I)
_YEAR = re.compile(r"năm\s+((?:19|20)\d\d)", re.I)
# Dates of the documents a preamble cites: "ngày 23/6/2021", "ngày 18 tháng 02 năm 2022".
_CITED_DATE_YEAR = re.compile(
    r"\d{1,2}\s*/\s*\d{1,2}\s*/\s*((?:19|20)\d\d)|tháng\s+\d{1,2}\s+năm\s+((?:19|20)\d\d)"
)


def _left_column(raw: str) -> str:
    """The header's left column: what comes before the national motto on the same line."""
    motto = _MOTTO.search(raw)
    left = raw[: motto.start()] if motto else raw
    # Columns may also be separated by a wide run of spaces only.
    return re.split(r"\s{3,}", left.strip())[0] if left.strip() else ""


def _title_case_place(words: list[str]) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


def _format_issuer(caps: str) -> str:
    """ "ỦY BAN NHÂN DÂN HUYỆN TUY PHƯỚC" -> "Ủy ban nhân dân huyện Tuy Phước"."""
    text = clean_line(caps).replace("UỶ", "ỦY").replace("Uỷ", "Ủy")
    if not text.isupper():
        return text
    lower = text.lower()
    for level in sorted(_LEVEL_WORDS, key=len, reverse=True):
        marker = f" {level} "
        position = lower.find(marker)
        if position != -1:
            head = lower[:position]
            place = text[position + len(marker) :].split()
            return f"{head[:1].upper()}{head[1:]} {level} {_title_case_place(place)}".strip()
    return lower[:1].upper() + lower[1:]


def _issuer(raw_lines: list[str], paragraphs: list[Paragraph]) -> str | None:
    parts: list[str] = []
    for raw in raw_lines[:HEADER_LINES]:
        cleaned = clean_line(raw)
        if not cleaned:
            continue
        if re.match(r"^(?:Số|S[ốo])\s*:", cleaned) or _PLAN_WORD.match(cleaned):
            break
        left = clean_line(_left_column(raw))
        if left and left.isupper() and (_ORG_START.match(left) or parts):
            parts.append(left)
        elif parts:
            break
    if parts:
        return _format_issuer(" ".join(parts))
    for paragraph in paragraphs[:15]:
        found = _ISSUER_IN_TEXT.search(paragraph.text)
        if found:
            return found.group("issuer").replace("Uỷ", "Ủy")
    return None


def _number(paragraphs: list[Paragraph]) -> str | None:
    for paragraph in paragraphs[:12]:
        found = _NUMBER.search(paragraph.text)
        if found:
            return re.sub(r"\s+", "", found.group("number"))
        if _PLAN_WORD.match(paragraph.text):
            break
    return None


def _issued_on(paragraphs: list[Paragraph]) -> tuple[date | None, int | None]:
    """The issue date, and its year even when the day is left blank ("ngày   tháng 3 năm 2024")."""
    for paragraph in paragraphs[:12]:
        found = _ISSUED.search(paragraph.text)
        if found:
            try:
                issued = date(int(found["year"]), int(found["month"]), int(found["day"]))
            except ValueError:
                return None, int(found["year"])
            return issued, issued.year
        partial = _PLACE_DATE_YEAR.search(paragraph.text)
        if partial:
            return None, int(partial["year"])
        if _PLAN_WORD.match(paragraph.text):
            break
    return None, None


def _title(paragraphs: list[Paragraph]) -> tuple[str | None, int]:
    """The line after "KẾ HOẠCH", and the index of the paragraph after the title."""
    for index, paragraph in enumerate(paragraphs[:25]):
        if _PLAN_WORD.match(paragraph.text):
            if index + 1 < len(paragraphs):
                title = paragraphs[index + 1].text.strip().rstrip(".")
                return title, index + 2
            return None, index + 1
        same_line = re.match(r"^KẾ\s+HOẠCH\s+(?P<title>\S.+)$", paragraph.text)
        if same_line and not same_line["title"].isupper():
            return same_line["title"].strip(), index + 1
    return None, 0


def _years(
    title: str | None, preamble: list[str], issued_year: int | None
) -> tuple[int | None, int | None]:
    texts = [title or ""] + preamble
    for text in texts[:1]:
        span = _YEAR_RANGE.search(text)
        if span:
            return int(span.group(1)), int(span.group(2))
    end: int | None = None
    for text in texts[:1]:
        to_year = _TO_YEAR.search(text)
        if to_year:
            end = int(to_year.group(1))
        else:
            years = [int(y) for y in _YEAR.findall(text)]
            if years:
                return years[-1], years[-1]
    if end is not None:
        start = issued_year
        if start is None:
            mentioned = [
                int(a or b) for text in preamble for a, b in _CITED_DATE_YEAR.findall(text)
            ]
            candidates = [y for y in mentioned if y <= end]
            start = max(candidates) if candidates else None
        return start, end
    if issued_year is not None:
        return issued_year, issued_year
    return None, None


def plan_metadata(raw_lines: list[str], paragraphs: list[Paragraph], body_start: int) -> PlanMeta:
    """`body_start` is the index of the first numbered section, where the preamble ends."""
    title, after_title = _title(paragraphs)
    issued_on, issued_year = _issued_on(paragraphs)
    preamble = [p.text for p in paragraphs[after_title:body_start]]
    start_year, end_year = _years(title, preamble, issued_year)
    return PlanMeta(
        title=title,
        number=_number(paragraphs),
        issuer=_issuer(raw_lines, paragraphs),
        issued_on=issued_on,
        start_year=start_year,
        end_year=end_year,
    )
