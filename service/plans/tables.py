"""Assignment tables: "STT | Nội dung nhiệm vụ | Cơ quan chủ trì | Cơ quan phối hợp | Thời gian".

Many plans, and the "Phụ lục" appendices their TỔ CHỨC THỰC HIỆN section refers to, give their
tasks as table rows rather than numbered prose. A row reaches the parser as one paragraph whose
cells are joined by " | " (the DOCX reader writes rows that way; a text file may too). This module
finds the header row by its column titles, then reads each task row into its cells; turning rows
into assignments is the parser's job. A table whose header does not name both a task column and
a lead-agency column (a budget, a list of targets, the reporting timetable) is not read.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from service.plans.schemas import Role
from service.plans.text import is_table_row

__all__ = ["Row", "Table", "cells", "due_date", "find_tables", "is_table_row"]


def _bare(text: str) -> str:
    """Lower case without tone marks, "đ" as "d", single spaces: the key column titles match on."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w/]+", " ", stripped).split())


# Column titles, tried in this order on each header cell ("Thời gian thực hiện" is a time column,
# "Đơn vị phối hợp thực hiện" a co-agency column, before either reads as the lead column).
_COLUMN_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("number", re.compile(r"^(?:stt|tt|so tt|so thu tu)$")),
    # A table about money or figures is not a list of assignments, whatever else it holds.
    (
        "veto",
        re.compile(
            r"kinh phi|du toan|nguon von|trieu dong|nghin dong|ngan dong|don vi tinh|^dvt$"
            r"|chi tieu|muc tieu|tong muc"
        ),
    ),
    ("due", re.compile(r"\b(?:thoi gian|thoi han|tien do|han hoan thanh|moc|thoi diem)\b")),
    ("co", re.compile(r"phoi hop")),
    ("lead", re.compile(r"chu tri|(?:co quan|don vi|bo phan)\b.*\bthuc hien")),
    ("product", re.compile(r"\b(?:san pham|ket qua|hinh thuc)\b")),
    ("task", re.compile(r"\b(?:nhiem vu|noi dung|cong viec|hoat dong|giai phap|de an)\b")),
)
_MAX_TITLE_WORDS = 10
# Rows that are not tasks: a group title's number ("I", "II", "A"), column numbers "(1) | (2)",
# a Markdown rule "|---|---|", a total.
_GROUP_NUMBER = re.compile(r"^(?:[IVXLC]{1,6}|[A-Z])\.?$")
_TASK_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.?$")
_FILLER = re.compile(r"^(?:\(?\d{1,2}\)?|:?-{2,}:?|[-–—x]?)$")
_TOTAL = re.compile(r"^(?:tổng\s+cộng|tổng\s+số|cộng)\b", re.I)
_LEADING_BULLET = re.compile(r"^[-+•*–—]\s*")
# A title between the rows of one table, as a paragraph of its own ("I. NHÓM NHIỆM VỤ …").
_GROUP_TITLE = re.compile(r"^(?:[IVXLC]{1,6}|[A-Z])\s*[.)/:–-]\s*\S")


@dataclass(frozen=True)
class Row:
    """One task row, its cells as written: the number (STT), the task, the lead cell, the
    co-agency cell, the time cell; "" where the table has no such column or the cell is empty."""

    number: str
    task: str
    lead: str
    co: str
    due: str


@dataclass
class Table:
    role: Role  # chu_tri under a "Cơ quan chủ trì" column, thuc_hien under "Đơn vị thực hiện"
    columns: dict[str, int]
    width: int
    rows: list[Row] = field(default_factory=list)


def cells(text: str) -> list[str]:
    """A row's cells; outer pipes of a Markdown-style row are not cells."""
    inner = text.strip()
    if inner.startswith("|") and inner.endswith("|") and len(inner) > 1:
        inner = inner[1:-1]
    return [" ".join(cell.split()) for cell in inner.split("|")]


def _header(row: list[str]) -> Table | None:
    """The table a header row opens, when its titles name a task column and a lead column."""
    columns: dict[str, int] = {}
    lead_title = ""
    for index, cell in enumerate(row):
        if not cell:
            continue
        if len(cell.split()) > _MAX_TITLE_WORDS or _TASK_NUMBER.match(cell):
            return None  # a long text or a task's number: a data row
        key = _bare(cell)
        for kind, pattern in _COLUMN_TITLES:
            if pattern.search(key):
                if kind == "veto":
                    return None
                if kind not in columns:
                    columns[kind] = index
                    lead_title = key if kind == "lead" else lead_title
                break
    if "task" not in columns or "lead" not in columns:
        return None
    role: Role = "chu_tri" if "chu tri" in lead_title else "thuc_hien"
    return Table(role=role, columns=columns, width=len(row))


def _cell(row: list[str], table: Table, kind: str) -> str:
    index = table.columns.get(kind)
    return row[index] if index is not None and index < len(row) else ""


def find_tables(texts: list[str]) -> list[Table]:
    """The assignment tables among consecutive paragraphs, each with its task rows.

    A table runs from its header row to the first paragraph that is neither a row nor a group
    title. A lead cell left empty under a task number belongs to the agency above it (a cell
    merged down several rows, as a text file shows it); a group row starts afresh.
    """
    tables: list[Table] = []
    current: Table | None = None
    previous_lead = ""
    for text in texts:
        if not is_table_row(text):
            if not (current and _GROUP_TITLE.match(text) and len(text.split()) <= 40):
                current = None
            previous_lead = ""
            continue
        row = cells(text)
        opened = _header(row)
        if opened is not None:
            current, previous_lead = opened, ""
            tables.append(current)
            continue
        if current is None:
            continue
        filled = [cell for cell in row if cell]
        if not filled or all(_FILLER.match(cell) for cell in filled):
            continue
        number = _cell(row, current, "number").rstrip(".") if "number" in current.columns else ""
        task = _LEADING_BULLET.sub("", _cell(row, current, "task"))
        lead = _cell(row, current, "lead")
        if not task or _TOTAL.match(task) or not re.search(r"\w", task):
            continue
        if len(filled) == 1 or (not lead and _GROUP_NUMBER.match(number)):
            previous_lead = ""  # a group title: "I. Nhóm nhiệm vụ …"
            continue
        if not lead:
            continues = (
                _TASK_NUMBER.match(number)
                if "number" in current.columns
                else _cell(row, current, "co") or _cell(row, current, "due")
            )
            if not (previous_lead and continues):
                previous_lead = ""
                continue
            lead = previous_lead
        previous_lead = lead
        current.rows.append(
            Row(
                number=number,
                task=task,
                lead=lead,
                co=_cell(row, current, "co"),
                due=_cell(row, current, "due"),
            )
        )
    return [table for table in tables if table.rows]


# --- due dates ----------------------------------------------------------------------------------

_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_YEAR = r"((?:19|20)\d\d)"
_OF_YEAR = rf"(?:\s*/\s*|\s+năm\s+){_YEAR}"
# Each form of a date or period, written as the time cell writes it (NFC, any case).
_DATES = re.compile(
    rf"(?P<dmy>(?:ngày\s+)?(?P<d1>[0-3]?\d)\s*(?:/|-|\.|\s+tháng\s+)\s*(?P<m1>[01]?\d)"
    rf"(?:\s*/\s*|\s*-\s*|\s*\.\s*|\s+năm\s+){_YEAR})"
    rf"|(?P<half>(?:06|6|sáu)\s+tháng\s+(?P<part>đầu|cuối)\s+năm(?:\s+{_YEAR})?)"
    rf"|(?P<my>tháng\s+(?P<m2>[01]?\d){_OF_YEAR})"
    rf"|(?P<my2>\b(?P<m3>[01]?\d)\s*/\s*{_YEAR})"
    rf"|(?P<q>quý\s+(?P<quarter>IV|III|II|I|[1-4])\b(?:{_OF_YEAR})?)"
    rf"|(?P<dm>(?:ngày\s+)?\b(?P<d2>[0-3]?\d)\s*(?:/|\s+tháng\s+)\s*(?P<m4>[01]?\d)\b(?!\s*/))"
    rf"|(?P<m>tháng\s+(?P<m5>[01]?\d)\b)"
    rf"|(?P<endyear>cuối\s+năm(?:\s+{_YEAR})?)"
    rf"|(?P<y>\b{_YEAR}\b)",
    re.I,
)
_RECURRING = re.compile(
    r"(?:hằng|hàng|mỗi)\s+(?:năm|quý|tháng|tuần|ngày)|thường\s+xuyên|định\s+kỳ|liên\s+tục"
    r"|theo\s+yêu\s+cầu|khi\s+có",
    re.I,
)


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _end_of(match: re.Match[str], plan_year: int | None) -> date | None:
    """The last day the matched date or period allows, or None when it does not name one."""
    groups = match.groupdict()
    years = [int(value) for value in match.groups() if value and re.fullmatch(_YEAR, value)]
    year = years[-1] if years else plan_year
    if year is None:
        return None
    try:
        if groups["dmy"]:
            return date(year, int(groups["m1"]), int(groups["d1"]))
        if groups["half"]:
            return _last_day(year, 6 if groups["part"].lower() == "đầu" else 12)
        if groups["my"] or groups["my2"] or groups["m"]:
            return _last_day(year, int(groups["m2"] or groups["m3"] or groups["m5"]))
        if groups["q"]:
            return _last_day(year, 3 * _QUARTERS[groups["quarter"].lower()])
        if groups["dm"]:
            return date(year, int(groups["m4"]), int(groups["d2"]))
    except ValueError:
        return None  # "31/6", "tháng 13": not a date
    return date(year, 12, 31)  # "năm 2025", "cuối năm", a bare year


def due_date(text: str, *, start_year: int | None, end_year: int | None) -> date | None:
    """The date a row's time cell sets, or None when it sets none.

    "Trước 30/6/2025", "Quý II/2025", "Tháng 9/2025", "6 tháng đầu năm 2025", "Năm 2025": the last
    day it allows; a range ("Từ tháng 3 đến tháng 6/2025") ends at its latest date. A cell without
    a year ("Quý II", "Trước 30/6") takes the plan's year when the plan covers one year. Recurring
    or ongoing work ("Hằng năm", "Thường xuyên") has no single date in a plan of several years;
    in a one-year plan only a date the cell states counts.
    """
    plan_year = start_year if end_year in (None, start_year) else None
    if _RECURRING.search(text) and plan_year is None:
        return None
    found = [end for match in _DATES.finditer(text) if (end := _end_of(match, plan_year))]
    return max(found) if found else None
