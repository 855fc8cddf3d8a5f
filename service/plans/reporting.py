"""The reporting regime (chế độ báo cáo): which reports a plan asks for, and their due dates.

A plan states its regime in prose, in a section of its own, a closing paragraph or inside an
agency's block: "định kỳ báo cáo kết quả 06 tháng (trước ngày 10/6), năm (trước ngày 15/11)".
`find_reporting` turns such sentences into entries; `deadlines` spreads them over the plan's years,
falling back to the deployment's default calendar where the plan names a kind but no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from service.i18n import t
from service.plans.schemas import Deadline, ReportingEntry, ReportKind

# A sentence only counts when it is about reports and about a period or a date.
_REPORT_WORD = re.compile(r"báo\s*cáo", re.I)
_REGIME_HINT = re.compile(
    r"định\s*kỳ|trước\s+ngày|chậm\s+nhất|hằng|hàng|\b0?6\s+tháng|sáu\s+tháng|quý|đột\s+xuất"
    r"|tháng\s+cuối|cuối\s+năm|giai\s+đoạn|chế\s+độ\s+báo\s+cáo|sơ\s+kết|tổng\s+kết",
    re.I,
)

# Kind mentions, most specific first; each is tried at every position and the earliest wins.
_KINDS: list[tuple[ReportKind, re.Pattern[str]]] = [
    ("semiannual", re.compile(r"\b(?:0?6|sáu)\s+tháng(?:\s+đầu\s+năm|\s+cuối\s+năm)?", re.I)),
    ("other", re.compile(r"\b(?:0?9|chín)\s+tháng(?:\s+đầu\s+năm)?", re.I)),
    (
        "quarterly",
        re.compile(r"(?:hằng|hàng|mỗi|định\s+kỳ|theo)\s+quý|\bquý\b(?!\s+[IV1-4]\b)", re.I),
    ),
    ("monthly", re.compile(r"(?:hằng|hàng|mỗi)\s+tháng|định\s+kỳ\s+tháng|báo\s+cáo\s+tháng", re.I)),
    (
        "period",
        re.compile(r"(?:báo\s+cáo|tổng\s+kết|sơ\s+kết)\s+(?:\w+\s+){0,3}?giai\s+đoạn", re.I),
    ),
    (
        "annual",
        re.compile(
            r"(?:hằng|hàng|mỗi|một|cả|01|1)\s+năm(?!\s+\d)|(?:báo\s+cáo|tổng\s+kết)\s+năm(?!\s+\d)"
            r"|(?<=[,;(]\s)năm(?!\s+\d)|(?<=\bvà\s)năm(?!\s+\d)|\bnăm(?=\s*\((?:gửi\s+)?trước)",
            re.I,
        ),
    ),
    ("adhoc", re.compile(r"đột\s+xuất", re.I)),
]

# Dates: "trước ngày 10/6", "trước 10/06", "chậm nhất ngày 05/12", "trước ngày 15 tháng 6",
# and day-only forms for monthly and quarterly reports: "trước ngày 25 hằng tháng".
_DATE = re.compile(
    r"(?:trước|chậm\s+nhất(?:\s+là)?|không\s+quá|hạn)\s+(?:ngày\s+)?"
    r"(?P<day>[0-3]?\d)\s*(?:/\s*|-\s*|\s+tháng\s+)(?P<month>[01]?\d)\b"
    r"(?:\s*/\s*(?:19|20)\d\d|\s+năm\s+(?:19|20)\d\d)?"
    r"|(?:trước|chậm\s+nhất(?:\s+là)?)\s+ngày\s+(?P<dayonly>[0-3]?\d)\b(?!\s*(?:/|tháng\s+\d))"
    # what may qualify the date; swallowed so that "tháng cuối quý" is not read as another kind
    r"(?:\s+(?:của\s+)?(?:hằng|hàng|mỗi)\s+(?:tháng|quý)"
    r"|\s+(?:của\s+)?tháng\s+(?:cuối|đầu)\s+(?:quý|kỳ)(?:\s+sau)?"
    r"|\s+(?:của\s+)?năm\s+cuối\s+(?:giai\s+đoạn|kỳ)|\s+của\s+năm(?:\s+sau)?)?",
    re.I,
)
_QUARTER_NUMERALS = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class RegimeItem:
    """A reporting entry plus what the contract's "DD/MM" cannot hold: a day for monthly reports."""

    entry: ReportingEntry
    day: int | None = None  # day of month for monthly / quarterly reports
    following: bool = False  # due in the month after the period ("tháng đầu quý sau")


def _kind_mentions(text: str, dates: list[re.Match[str]]) -> list[tuple[int, int, ReportKind]]:
    mentions: list[tuple[int, int, ReportKind]] = []
    taken: list[tuple[int, int]] = [d.span() for d in dates]
    for kind, pattern in _KINDS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            mentions.append((start, end, kind))
    return sorted(mentions)


def _valid(day: int, month: int) -> bool:
    try:
        date(2024, month, day)  # a leap year, so 29/02 passes
    except ValueError:
        return False
    return True


def regime_items(text: str) -> list[RegimeItem]:
    """The reporting entries one paragraph states (empty when it states none)."""
    if not (_REPORT_WORD.search(text) and _REGIME_HINT.search(text)):
        return []
    dates = list(_DATE.finditer(text))
    mentions = _kind_mentions(text, dates)
    # "trước ngày 25 hằng tháng" with no kind before it: the qualifier names the kind.
    implied_kinds: dict[str, ReportKind] = {"tháng": "monthly", "quý": "quarterly"}
    for date_match in dates:
        implied = re.search(r"(?:hằng|hàng|mỗi)\s+(tháng|quý)", date_match.group(0), re.I)
        kind = implied_kinds[implied.group(1).lower()] if implied else None
        if kind and not any(k == kind for _, _, k in mentions):
            mentions.append((date_match.start(), date_match.start(), kind))
    mentions.sort()
    if not mentions:
        return []
    items: list[RegimeItem] = []
    assigned = _assign_dates(mentions, dates, len(text))
    for index, (start, end, kind) in enumerate(mentions):
        limit = mentions[index + 1][0] if index + 1 < len(mentions) else len(text)
        found = assigned[index]
        due: str | None = None
        day: int | None = None
        text_end = end
        if found and kind != "adhoc":
            if found.group("day"):
                d, m = int(found.group("day")), int(found.group("month"))
                if _valid(d, m):
                    due = f"{d:02d}/{m:02d}"
                    if kind in ("monthly", "quarterly"):
                        day, due = d, None
            elif found.group("dayonly"):
                day = int(found.group("dayonly"))
            text_end = found.end()
            closing = text.find(")", text_end, limit)
            if closing != -1 and text.rfind("(", start, text_end) != -1:
                text_end = closing + 1
        snippet = text[start:text_end].strip()
        following = bool(found and re.search(r"(?:quý|tháng)\s+sau", found.group(0), re.I))
        if kind == "adhoc":
            snippet = _sentence_around(text, start).lstrip("-+•* ")
        entry = ReportingEntry(kind=kind, due_day_month=due, text=snippet)
        items.append(RegimeItem(entry, day, following and kind in ("monthly", "quarterly")))
    return items


def _assign_dates(
    mentions: list[tuple[int, int, ReportKind]], dates: list[re.Match[str]], length: int
) -> list[re.Match[str] | None]:
    """The date each kind mention is due by.

    Usually a date follows its kind ("06 tháng (trước ngày 10/6), năm (trước ngày 15/11)"); a
    list of kinds followed by as many dates pairs them in order ("6 tháng, năm báo cáo trước ngày
    15 tháng 6 và trước ngày 15 tháng 12").
    """
    assigned: list[re.Match[str] | None] = [None] * len(mentions)
    run: list[int] = []
    for index, (_, end, _) in enumerate(mentions):
        run.append(index)
        limit = mentions[index + 1][0] if index + 1 < len(mentions) else length
        following = [d for d in dates if end <= d.start() < limit]
        if not following and index + 1 < len(mentions):
            continue  # the next kind belongs to the same list
        if len(run) > 1 and len(following) >= len(run):
            for position, member in enumerate(run):
                assigned[member] = following[position]
        elif following:
            assigned[index] = following[0]
        run = []
    return assigned


def _sentence_around(text: str, position: int) -> str:
    begin = max(text.rfind(". ", 0, position), text.rfind("; ", 0, position))
    begin = 0 if begin == -1 else begin + 2
    end_candidates = [i for i in (text.find(". ", position), text.find("; ", position)) if i != -1]
    end = min(end_candidates) if end_candidates else len(text)
    return text[begin:end].strip().rstrip(".;")


def find_reporting(paragraph_texts: list[str]) -> list[RegimeItem]:
    """Every distinct entry across the paragraphs; a dated entry replaces an undated one."""
    chosen: dict[str, list[RegimeItem]] = {}
    for text in paragraph_texts:
        for item in regime_items(text):
            same_kind = chosen.setdefault(item.entry.kind, [])
            dated = item.entry.due_day_month is not None or item.day is not None
            if any(
                (o.entry.due_day_month, o.day) == (item.entry.due_day_month, item.day)
                for o in same_kind
            ):
                continue
            if dated:
                same_kind[:] = [o for o in same_kind if o.entry.due_day_month or o.day]
                same_kind.append(item)
            elif not same_kind:
                same_kind.append(item)
    return [item for items in chosen.values() for item in items]


def _parse_day_month(value: str) -> tuple[int, int]:
    day, month = value.split("/")
    return int(day), int(month)


def _on(year: int, day: int, month: int) -> date:
    """The date, pulled back to the month's last day where it does not exist (31/06)."""
    while day > 28:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1
    return date(year, month, day)


def deadlines(
    items: list[RegimeItem],
    *,
    start_year: int | None,
    end_year: int | None,
    calendar: dict[str, str],
    not_before: date | None = None,
) -> tuple[list[Deadline], list[str]]:
    """Concrete deadlines over the plan's years, and the warnings a reviewer should see.

    `calendar` is the deployment default: {"semiannual": "10/06", "annual": "10/11",
    "period": "10/11", "quarterly": "20", "monthly": "25"} (day/month, or a day for the last two).
    """
    warnings: list[str] = []
    if start_year is None and end_year is None:
        return [], [t("warn.no_years")]
    years = [year for year in (start_year, end_year) if year is not None]
    first, last = min(years), max(years)
    calendar_text = ", ".join(f"{k} {v}" for k, v in calendar.items())

    periodic = [i for i in items if i.entry.kind != "adhoc"]
    if not periodic:
        warnings.append(t("warn.no_reporting", calendar=calendar_text))
        periodic = [
            RegimeItem(ReportingEntry(kind=kind, due_day_month=None, text=""))
            for kind in ("semiannual", "annual")
        ]
    elif not any(i.entry.due_day_month or i.day for i in periodic):
        warnings.append(t("warn.no_report_dates", calendar=calendar_text))

    result: list[Deadline] = []
    for item in periodic:
        kind = item.entry.kind
        stated = item.entry.due_day_month is not None or item.day is not None
        source: Literal["plan", "default"] = "plan" if stated else "default"
        default = calendar.get(kind)
        if kind in ("semiannual", "annual", "period", "other"):
            day_month = item.entry.due_day_month or default
            if day_month is None or "/" not in day_month:
                continue
            day, month = _parse_day_month(day_month)
            years = [last] if kind == "period" else list(range(first, last + 1))
            for year in years:
                label = _label(kind, year=year, first=first, last=last)
                result.append(
                    Deadline(kind=kind, label=label, due_on=_on(year, day, month), source=source)
                )
        elif kind in ("quarterly", "monthly"):
            day_value = item.day or (int(default) if default and default.isdigit() else None)
            if day_value is None:
                continue
            months = (3, 6, 9, 12) if kind == "quarterly" else range(1, 13)
            for year in range(first, last + 1):
                for month in months:
                    label = _label(kind, year=year, month=month, first=first, last=last)
                    due_year, due_month = (
                        (year + month // 12, month % 12 + 1) if item.following else (year, month)
                    )
                    due = _on(due_year, day_value, due_month)
                    result.append(Deadline(kind=kind, label=label, due_on=due, source=source))
    if not_before is not None:
        result = [d for d in result if d.due_on >= not_before]
    result.sort(key=lambda d: (d.due_on, d.kind))
    return result, warnings


def _label(kind: str, *, year: int, first: int, last: int, month: int = 0) -> str:
    if kind == "quarterly":
        return t("deadline.quarterly", quarter=_QUARTER_NUMERALS[month // 3 - 1], year=year)
    if kind == "monthly":
        return t("deadline.monthly", month=month, year=year)
    if kind == "period":
        return t("deadline.period", first=first, last=last)
    return t(f"deadline.{kind}", year=year)
