"""The reminder policy: when, before and after a deadline, whom to remind or escalate to.

A deadline (a report obligation's or a task's `due_on`) has a schedule of *steps*, each on a day
counted in working days:

- before it: "d-7", "d-3", "d-1" (default 7, 3 and 1 working days before) to the focal points;
- on it: "d0" (on the last working day on or before the due date) to the focal points;
- after it, the escalation ladder: "e+1" to the focal points and the agency's head, "e+3" to the
  lead office, "e+7" to the issuing UBND's leadership (defaults);
- then "r1", "r2"... a capped number of repeats to the focal points every `repeat_every` days.

On a given day each audience gets at most its *latest* step whose day has come: a sweep that
missed days catches up with one message, never a burst of stale ones. A step is stale (never sent)
once the audience's next step is due, or `CATCH_UP_DAYS` working days after the audience's last
step. Whether an item is still open (not submitted, not done) is the sweep's business.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import TYPE_CHECKING, Any

from notifications.calendar import WorkingCalendar
from service.i18n import t

if TYPE_CHECKING:
    from service.config import Settings

# A missed last step is still worth sending this many working days late, and no later.
CATCH_UP_DAYS = 5
MAX_OFFSET_DAYS = 60
MAX_REPEATS = 10


class Audience(enum.StrEnum):
    FOCAL_POINT = "focal_point"  # the agency's đầu mối users
    AGENCY_HEAD = "agency_head"  # Agency.head_email
    LEAD_OFFICE = "lead_office"  # lead-office users of the plan's lead agency
    LEADERSHIP = "leadership"  # leadership users of the UBND the plan reports to


class Phase(enum.StrEnum):
    BEFORE = "before"
    DUE = "due"
    OVERDUE = "overdue"


class PolicyError(ValueError):
    """A policy that cannot be used. `code` is a catalogue key; the message is Vietnamese."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = t(code, **params)
        super().__init__(self.message)


@dataclass(frozen=True)
class Rung:
    """One rung of the escalation ladder: `after` working days past the due date, to whom."""

    after: int
    audiences: frozenset[Audience]
    # Sent on its own at once instead of waiting for the recipient's daily digest.
    immediate: bool = False


DEFAULT_LADDER = (
    Rung(1, frozenset({Audience.FOCAL_POINT, Audience.AGENCY_HEAD})),
    Rung(3, frozenset({Audience.LEAD_OFFICE})),
    Rung(7, frozenset({Audience.LEADERSHIP})),
)


@dataclass(frozen=True)
class ReminderPolicy:
    before: tuple[int, ...] = (7, 3, 1)
    on_the_day: bool = True
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    # Repeats to the focal points after the last rung: every `repeat_every` working days, at
    # most `max_repeats` times. Either 0: no repeats.
    repeat_every: int = 5
    max_repeats: int = 2
    enabled: bool = True

    def __post_init__(self) -> None:
        for days in self.before:
            if not 1 <= days <= MAX_OFFSET_DAYS:
                raise PolicyError("notify.policy_bad_days", days=days, limit=MAX_OFFSET_DAYS)
        if len(set(self.before)) != len(self.before):
            raise PolicyError("notify.policy_duplicate_days")
        afters = [rung.after for rung in self.ladder]
        for rung in self.ladder:
            if not 1 <= rung.after <= MAX_OFFSET_DAYS:
                raise PolicyError("notify.policy_bad_days", days=rung.after, limit=MAX_OFFSET_DAYS)
            if not rung.audiences:
                raise PolicyError("notify.policy_empty_rung", days=rung.after)
        if len(set(afters)) != len(afters):
            raise PolicyError("notify.policy_duplicate_days")
        if not 0 <= self.repeat_every <= MAX_OFFSET_DAYS:
            raise PolicyError("notify.policy_bad_repeat", limit=MAX_OFFSET_DAYS)
        if not 0 <= self.max_repeats <= MAX_REPEATS:
            raise PolicyError("notify.policy_bad_max_repeats", limit=MAX_REPEATS)
        object.__setattr__(self, "before", tuple(sorted(self.before, reverse=True)))
        object.__setattr__(self, "ladder", tuple(sorted(self.ladder, key=lambda r: r.after)))

    @property
    def repeats(self) -> int:
        return self.max_repeats if self.repeat_every else 0

    @property
    def last_after(self) -> int:
        """Working days after the due date of the last step (0: nothing after it)."""
        last_rung = self.ladder[-1].after if self.ladder else 0
        return last_rung + self.repeat_every * self.repeats

    def with_overrides(self, overrides: PolicyOverrides) -> ReminderPolicy:
        """This policy with a plan's overrides applied (None: keep the deployment's)."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("before", overrides.before),
                ("on_the_day", overrides.on_the_day),
                ("ladder", overrides.ladder),
                ("repeat_every", overrides.repeat_every),
                ("max_repeats", overrides.max_repeats),
                ("enabled", overrides.enabled),
            )
            if value is not None
        }
        return replace(self, **changes) if changes else self


@dataclass(frozen=True)
class PolicyOverrides:
    """A plan's deviations from the deployment policy; None keeps the deployment's value."""

    before: tuple[int, ...] | None = None
    on_the_day: bool | None = None
    ladder: tuple[Rung, ...] | None = None
    repeat_every: int | None = None
    max_repeats: int | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class Step:
    """One scheduled reminder of one deadline."""

    name: str  # part of the dedup key: never rename a step kind
    fire_on: date
    phase: Phase
    audiences: frozenset[Audience]
    immediate: bool = False
    # For overdue steps: working days past the due date.
    after: int = 0


@dataclass(frozen=True)
class Due:
    """What one audience is due on a day: its step, and how far the deadline is."""

    step: Step
    audience: Audience
    # Working days from today to the deadline (negative: overdue by that many).
    working_days_left: int = field(default=0)


def schedule(policy: ReminderPolicy, *, due_on: date, calendar: WorkingCalendar) -> list[Step]:
    """Every step for a deadline on `due_on`, in the order they fire."""
    if not policy.enabled:
        return []
    focal = frozenset({Audience.FOCAL_POINT})
    # The office is closed on a weekend or holiday deadline: count to the working day before it.
    last_day = calendar.last_working_day_on_or_before(due_on)
    steps = [
        Step(f"d-{days}", calendar.shift(last_day, -days), Phase.BEFORE, focal)
        for days in policy.before
    ]
    if policy.on_the_day:
        steps.append(Step("d0", last_day, Phase.DUE, focal))
    for rung in policy.ladder:
        steps.append(
            Step(
                f"e+{rung.after}",
                calendar.shift(due_on, rung.after),
                Phase.OVERDUE,
                rung.audiences,
                rung.immediate,
                rung.after,
            )
        )
    last_rung = policy.ladder[-1].after if policy.ladder else 0
    for number in range(1, policy.repeats + 1):
        after = last_rung + number * policy.repeat_every
        steps.append(
            Step(f"r{number}", calendar.shift(due_on, after), Phase.OVERDUE, focal, after=after)
        )
    return steps


def due_today(
    policy: ReminderPolicy, *, due_on: date, today: date, calendar: WorkingCalendar
) -> list[Due]:
    """The step each audience is due for today, if any (see the module's docstring)."""
    steps = schedule(policy, due_on=due_on, calendar=calendar)
    result: list[Due] = []
    for audience in Audience:
        mine = [step for step in steps if audience in step.audiences]
        current: Step | None = None
        for index, step in enumerate(mine):
            if step.fire_on > today:
                break
            following = mine[index + 1].fire_on if index + 1 < len(mine) else None
            stale_from = following or calendar.shift(step.fire_on, CATCH_UP_DAYS + 1)
            current = step if today < stale_from else None
        if current is not None:
            left = calendar.working_days_between(
                today, calendar.last_working_day_on_or_before(due_on)
            )
            if current.phase == Phase.OVERDUE:
                left = -calendar.working_days_between(due_on, today)
            result.append(Due(current, audience, left))
    return result


def due_on_window(
    policies: Iterable[ReminderPolicy], *, today: date, calendar: WorkingCalendar
) -> tuple[date, date]:
    """Due dates a sweep on `today` must look at, as an inclusive range (a superset).

    Used as an indexed range on `due_on`, so the sweep's cost grows with what is due.
    """
    before = max((max(p.before, default=0) for p in policies if p.enabled), default=0)
    after = max((p.last_after for p in policies if p.enabled), default=0)
    # A due date on a closed day counts from the working day before it: reach past the closed
    # days that follow the furthest working day.
    latest = calendar.shift(today, before + 1)
    earliest = calendar.shift(today, -(after + CATCH_UP_DAYS + 1))
    return earliest, latest


# --- Text forms, for settings ------------------------------------------------------------------


def parse_days(text: str) -> tuple[int, ...]:
    """ "7,3,1" -> (7, 3, 1). Empty: no reminders before the deadline."""
    days: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise PolicyError("notify.policy_bad_number", value=part)
        days.append(int(part))
    return tuple(days)


def parse_ladder(text: str) -> tuple[Rung, ...]:
    """ "1=focal_point+agency_head,3=lead_office,7=leadership!" -> rungs; '!' sends at once."""
    rungs: list[Rung] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        after, sep, who = part.partition("=")
        if not sep or not after.strip().isdigit():
            raise PolicyError("notify.policy_bad_rung", rung=part)
        who = who.strip()
        immediate = who.endswith("!")
        names = [name.strip() for name in who.rstrip("!").split("+") if name.strip()]
        rungs.append(
            Rung(int(after), parse_audiences(names), immediate),
        )
    return tuple(rungs)


def parse_audiences(names: Sequence[str]) -> frozenset[Audience]:
    audiences: set[Audience] = set()
    for name in names:
        try:
            audiences.add(Audience(name))
        except ValueError:
            raise PolicyError(
                "notify.policy_bad_audience",
                name=name,
                known=", ".join(audience.value for audience in Audience),
            ) from None
    return frozenset(audiences)


def format_ladder(ladder: Iterable[Rung]) -> str:
    return ",".join(
        f"{rung.after}={'+'.join(sorted(rung.audiences))}{'!' if rung.immediate else ''}"
        for rung in ladder
    )


# --- The deployment's policy, from Settings ----------------------------------------------------


def policy_from_settings(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        before=parse_days(settings.reminder_days),
        on_the_day=settings.reminder_on_the_day,
        ladder=parse_ladder(settings.escalation_ladder),
        repeat_every=settings.reminder_repeat_every,
        max_repeats=settings.reminder_max_repeats,
    )


def parse_time_of_day(text: str) -> time:
    """ "07:30" -> 07:30."""
    hours, sep, minutes = text.strip().partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        if int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
    raise PolicyError("notify.bad_time_of_day", value=text)


def check_settings(settings: Settings) -> None:
    """Refuse, at start-up, settings the scheduler could not use."""
    policy_from_settings(settings)
    parse_time_of_day(settings.digest_time)
    if settings.smtp_tls and settings.smtp_starttls:
        raise PolicyError("notify.tls_and_starttls")
