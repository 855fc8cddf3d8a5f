"""Working days in Vietnam: weekends, public holidays (Tết included) and days an admin adds.

Reminders are counted in working days ("3 working days before 10/06"), never calendar days.
The built-in calendar is the `holidays` package's Vietnam (public holidays, their observed days,
Tết Nguyên đán as decreed, and the make-up Saturdays that are working days). Bridge days decreed
late in the year are `ExtraHoliday` rows an administrator adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ExtraHoliday

# Shifting by working days walks day by day; a stretch longer than this without a single working
# day means the calendar is broken (e.g. an administrator added a whole year of holidays).
_MAX_CLOSED_STRETCH = 120


class WorkingCalendar:
    """Which days are working days, and arithmetic in working days."""

    def __init__(self, extra_holidays: Iterable[date] = ()) -> None:
        self._extra = frozenset(extra_holidays)

    def is_working_day(self, day: date) -> bool:
        if day in self._extra:
            return False
        return _vietnam(day.year).is_working_day(day)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's Vietnamese name, if `day` is one in the built-in calendar."""
        name = _vietnam_vi(day.year).get(day)
        return str(name) if name else None

    def shift(self, day: date, working_days: int) -> date:
        """The day `working_days` working days after `day` (before it when negative).

        Day 0 is `day` itself whatever it is; 1 is the first working day after it, -1 the last
        working day before it.
        """
        step = 1 if working_days >= 0 else -1
        remaining = abs(working_days)
        current = day
        closed = 0
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
                closed = 0
            else:
                closed += 1
                if closed > _MAX_CLOSED_STRETCH:
                    raise ValueError(f"no working day within {_MAX_CLOSED_STRETCH} days of {day}")
        return current

    def last_working_day_on_or_before(self, day: date) -> date:
        return day if self.is_working_day(day) else self.shift(day, -1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: from Thursday to the next Monday is 2 (Fri, Mon).

        Negative when `end` is before `start`.
        """
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )


@cache
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


@cache
def _vietnam_vi(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def load_calendar(session: Session) -> WorkingCalendar:
    """The deployment's calendar: the built-in one plus every `ExtraHoliday` row."""
    return WorkingCalendar(session.scalars(select(ExtraHoliday.day)))
