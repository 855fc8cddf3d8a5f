"""Report deadlines of a draft when its years or issue date change in review.

The parser spreads the plan's reporting regime ("6 tháng (trước ngày 10/6), năm (trước ngày
15/11)") over the plan's years. A reviewer who corrects the years expects those deadlines to
follow, and the ones typed or edited by hand to stay. So each draft deadline says whether it was
computed (`DraftDeadline.computed`), and the regime is read back from the draft's `reporting`
entries: the same `reporting.deadlines` that the parser ran gives the deadlines for the new years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from service.plans import reporting
from service.plans.api_schemas import Draft, DraftDeadline
from service.plans.schemas import Deadline, ReportingEntry

# Put in front of a stored entry's text so that the regime reader, which only looks at sentences
# about reports with a period or date, reads it again. It adds no kind and no date of its own.
_READ_AGAIN = "Báo cáo định kỳ: "


@dataclass(frozen=True)
class Dates:
    """What the deadlines are computed from: the plan's years and its issue date."""

    start_year: int | None
    end_year: int | None
    issued_on: date | None


@dataclass
class Recomputed:
    removed: list[DraftDeadline] = field(default_factory=list)
    added: list[DraftDeadline] = field(default_factory=list)
    # Deadlines typed or edited by hand: left as they are.
    kept: list[DraftDeadline] = field(default_factory=list)
    # The regime's warnings for the old dates and for the new ones ("no years", "no dates").
    old_warnings: list[str] = field(default_factory=list)
    new_warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.added)


def regime_of(draft: Draft) -> list[reporting.RegimeItem]:
    """The reporting regime the parser read, from the entries the draft keeps."""
    entries = (draft.model_extra or {}).get("reporting") or []
    return regime_from([ReportingEntry.model_validate(entry) for entry in entries])


def regime_from(entries: list[ReportingEntry]) -> list[reporting.RegimeItem]:
    return [_item(entry) for entry in entries]


def _item(entry: ReportingEntry) -> reporting.RegimeItem:
    """An entry with what its "DD/MM" cannot hold: the day of a monthly or quarterly report and
    whether it falls in the following month, read again from the entry's own text."""
    if entry.kind in ("monthly", "quarterly"):
        for item in reporting.regime_items(_READ_AGAIN + entry.text):
            if item.entry.kind == entry.kind and item.day is not None:
                return reporting.RegimeItem(entry, item.day, item.following)
    return reporting.RegimeItem(entry)


def computed_deadlines(
    items: list[reporting.RegimeItem], dates: Dates, *, calendar: dict[str, str]
) -> tuple[list[Deadline], list[str]]:
    """What the parser would have computed for these dates (same rules, same calendar)."""
    return reporting.deadlines(
        items,
        start_year=dates.start_year,
        end_year=dates.end_year,
        calendar=calendar,
        not_before=dates.issued_on,
    )


def recompute(
    draft: Draft,
    *,
    old: Dates,
    new: Dates,
    calendar: dict[str, str],
    next_key: Callable[[], int],
) -> Recomputed:
    """Replace the draft's computed deadlines by those for `new`; `next_key()` hands out keys.

    A deadline computed before this field existed (`computed` is None) counts as computed when
    it is exactly one the regime gives for the old dates. A computed deadline the reviewer
    removed (`review.removed_deadlines`) does not come back, nor does one whose kind and label,
    or kind and day, a kept deadline already has.
    """
    items = regime_of(draft)
    before, old_warnings = computed_deadlines(items, old, calendar=calendar)
    after, new_warnings = computed_deadlines(items, new, calendar=calendar)
    original = {(d.kind, d.label, d.due_on, d.source) for d in before}
    result = Recomputed(old_warnings=old_warnings, new_warnings=new_warnings)
    for deadline in draft.deadlines:
        was_computed = deadline.computed
        if was_computed is None:
            key = (deadline.kind, deadline.label, deadline.due_on, deadline.source)
            was_computed = key in original
        (result.removed if was_computed else result.kept).append(deadline)

    removed_by_hand = {(r.kind, r.label) for r in draft.review.removed_deadlines}
    taken_labels = {(d.kind, d.label) for d in result.kept} | removed_by_hand
    taken_days = {(d.kind, d.due_on) for d in result.kept}
    for fresh in after:
        if (fresh.kind, fresh.label) in taken_labels or (fresh.kind, fresh.due_on) in taken_days:
            continue
        result.added.append(
            DraftDeadline(
                key=next_key(),
                kind=fresh.kind,
                label=fresh.label,
                due_on=fresh.due_on,
                source=fresh.source,
                computed=True,
            )
        )
    # Nothing changes when the new dates give the deadlines there already are.
    same = {(d.kind, d.label, d.due_on, d.source) for d in result.removed} == {
        (d.kind, d.label, d.due_on, d.source) for d in result.added
    }
    if same:
        result.removed, result.added = [], []
    return result
