"""Working days: weekends, Vietnamese public holidays with Tết, make-up Saturdays, extra days."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from notifications.calendar import WorkingCalendar, load_calendar
from service.models import ExtraHoliday

CALENDAR = WorkingCalendar()


def test_weekends_are_not_working_days() -> None:
    assert CALENDAR.is_working_day(date(2024, 6, 7))  # Friday
    assert not CALENDAR.is_working_day(date(2024, 6, 8))  # Saturday
    assert not CALENDAR.is_working_day(date(2024, 6, 9))  # Sunday


def test_tet_is_a_week_off() -> None:
    # Tết Giáp Thìn 2024: Thursday 08/02 to Wednesday 14/02.
    for day in range(8, 15):
        assert not CALENDAR.is_working_day(date(2024, 2, day)), day
    assert CALENDAR.is_working_day(date(2024, 2, 15))
    assert CALENDAR.holiday_name(date(2024, 2, 10)) == "Tết Nguyên Đán"


def test_a_make_up_saturday_is_a_working_day() -> None:
    # 2024: Monday 29/04 off in exchange for Saturday 04/05.
    assert not CALENDAR.is_working_day(date(2024, 4, 29))
    assert CALENDAR.is_working_day(date(2024, 5, 4))


def test_shift_counts_working_days_over_tet() -> None:
    # Three working days before Monday 19/02/2024: Thu 15, Fri 16 and the Wednesday before Tết.
    assert CALENDAR.shift(date(2024, 2, 19), -3) == date(2024, 2, 7)
    assert CALENDAR.shift(date(2024, 2, 7), 1) == date(2024, 2, 15)
    assert CALENDAR.shift(date(2024, 6, 10), 0) == date(2024, 6, 10)


def test_shift_from_a_weekend() -> None:
    assert CALENDAR.shift(date(2024, 6, 8), -1) == date(2024, 6, 7)
    assert CALENDAR.shift(date(2024, 6, 8), 1) == date(2024, 6, 10)
    assert CALENDAR.last_working_day_on_or_before(date(2024, 6, 9)) == date(2024, 6, 7)
    assert CALENDAR.last_working_day_on_or_before(date(2024, 6, 7)) == date(2024, 6, 7)


def test_working_days_between() -> None:
    # Thursday to the next Monday: Friday and Monday.
    assert CALENDAR.working_days_between(date(2024, 6, 6), date(2024, 6, 10)) == 2
    assert CALENDAR.working_days_between(date(2024, 6, 10), date(2024, 6, 6)) == -2
    assert CALENDAR.working_days_between(date(2024, 6, 10), date(2024, 6, 10)) == 0
    # 30/04 and 01/05/2024 are holidays, and 29/04 the bridge day.
    assert CALENDAR.working_days_between(date(2024, 4, 26), date(2024, 5, 2)) == 1


def test_extra_holidays_are_days_off() -> None:
    calendar = WorkingCalendar([date(2024, 6, 7)])

    assert not calendar.is_working_day(date(2024, 6, 7))
    assert calendar.shift(date(2024, 6, 10), -1) == date(2024, 6, 6)


def test_load_calendar_reads_extra_holidays(session: Session) -> None:
    session.add(ExtraHoliday(day=date(2025, 9, 3), name="Nghỉ bù Quốc khánh"))
    session.flush()

    calendar = load_calendar(session)

    assert not calendar.is_working_day(date(2025, 9, 3))
    assert calendar.shift(date(2025, 8, 29), 1) == date(2025, 9, 4)
