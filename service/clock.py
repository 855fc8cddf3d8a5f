"""The time: one injectable clock, so tests and jobs can travel through a plan year.

Code that needs "now" takes a `Clock` (a callable returning an aware UTC datetime) instead of
calling `datetime.now()`. Routes get it from the `get_clock` dependency, which tests override:

    app.dependency_overrides[get_clock] = lambda: FixedClock(datetime(2025, 6, 9, 3, tzinfo=UTC))

Dates a person reads (due today? late?) are days in Asia/Ho_Chi_Minh, never UTC days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends
from pydantic import PlainSerializer

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


async def get_clock() -> Clock:
    """FastAPI dependency: the clock of the running app (the system clock unless overridden).

    `async` only so FastAPI calls it on the event loop instead of hopping to a worker thread
    for a function that does no I/O.
    """
    return system_clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def local_date(at: datetime) -> date:
    """The calendar day in Vietnam at the instant `at` (which must be aware)."""
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware datetime")
    return at.astimezone(LOCAL_TZ).date()


def today_local(clock: Clock) -> date:
    """Today in Vietnam: 01:00 on 10/06 in Hanoi is still 09/06 in UTC."""
    return local_date(clock())


def to_local(at: datetime) -> datetime:
    """`at` expressed in Vietnam's time zone, for display and API output."""
    return at.astimezone(LOCAL_TZ)


class FixedClock:
    """A clock that stands still until moved: for tests, and for replaying a day in a job."""

    def __init__(self, now: datetime) -> None:
        self.set(now)

    def __call__(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        if now.utcoffset() is None:
            raise ValueError(f"naive datetime {now!r}: pass a timezone-aware datetime")
        self._now = now.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


# A datetime field of an API response: stored in UTC, sent in Vietnam's time (with its offset).
LocalDateTime = Annotated[datetime, PlainSerializer(to_local, return_type=datetime)]
