"""The reminder policy: which step each audience gets on which working day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from notifications.calendar import WorkingCalendar
from notifications.policy import (
    Audience,
    PolicyError,
    PolicyOverrides,
    ReminderPolicy,
    Rung,
    due_on_window,
    due_today,
    format_ladder,
    parse_days,
    parse_ladder,
    policy_from_settings,
    schedule,
)
from service.config import Settings

CALENDAR = WorkingCalendar()
DEFAULT = ReminderPolicy()


def steps_by_day(policy: ReminderPolicy, due_on: date, start: date, end: date) -> dict:
    """{day: {audience: step name}} for every day with something due, over [start, end]."""
    result = {}
    day = start
    while day <= end:
        due = due_today(policy, due_on=due_on, today=day, calendar=CALENDAR)
        if due:
            result[day] = {
                item.audience.value: (item.step.name, item.working_days_left) for item in due
            }
        day += timedelta(days=1)
    return result


def test_default_schedule_of_a_monday_deadline() -> None:
    # Monday 10/06/2024: 7, 3 and 1 working days before, on the day, then the ladder.
    steps = schedule(DEFAULT, due_on=date(2024, 6, 10), calendar=CALENDAR)

    assert [(s.name, s.fire_on) for s in steps] == [
        ("d-7", date(2024, 5, 30)),
        ("d-3", date(2024, 6, 5)),
        ("d-1", date(2024, 6, 7)),
        ("d0", date(2024, 6, 10)),
        ("e+1", date(2024, 6, 11)),
        ("e+3", date(2024, 6, 13)),
        ("e+7", date(2024, 6, 19)),
        ("r1", date(2024, 6, 26)),
        ("r2", date(2024, 7, 3)),
    ]


def test_each_audience_gets_its_step_once_a_day_it_starts() -> None:
    due = date(2024, 6, 10)
    # Only the days a step starts are listed with a new step; the in-between days repeat the
    # current step (the outbox's dedup key makes them no-ops), so compare the starts.
    days = steps_by_day(DEFAULT, due, date(2024, 5, 1), date(2024, 8, 1))
    starts: dict[tuple[str, str], date] = {}
    for day, due_items in sorted(days.items()):
        for audience, (step, _left) in due_items.items():
            starts.setdefault((audience, step), day)

    assert starts == {
        ("focal_point", "d-7"): date(2024, 5, 30),
        ("focal_point", "d-3"): date(2024, 6, 5),
        ("focal_point", "d-1"): date(2024, 6, 7),
        ("focal_point", "d0"): date(2024, 6, 10),
        ("focal_point", "e+1"): date(2024, 6, 11),
        ("agency_head", "e+1"): date(2024, 6, 11),
        ("lead_office", "e+3"): date(2024, 6, 13),
        ("leadership", "e+7"): date(2024, 6, 19),
        ("focal_point", "r1"): date(2024, 6, 26),
        ("focal_point", "r2"): date(2024, 7, 3),
    }


def test_working_days_left_and_overdue() -> None:
    days = steps_by_day(DEFAULT, date(2024, 6, 10), date(2024, 6, 5), date(2024, 6, 13))

    assert days[date(2024, 6, 5)] == {"focal_point": ("d-3", 3)}
    assert days[date(2024, 6, 7)] == {"focal_point": ("d-1", 1)}
    assert days[date(2024, 6, 10)] == {"focal_point": ("d0", 0)}
    assert days[date(2024, 6, 11)] == {"focal_point": ("e+1", -1), "agency_head": ("e+1", -1)}
    assert days[date(2024, 6, 13)]["lead_office"] == ("e+3", -3)


def test_holidays_move_the_reminders() -> None:
    # A deadline on Monday 19/02/2024, just after Tết (08/02-14/02 off).
    steps = {
        s.name: s.fire_on for s in schedule(DEFAULT, due_on=date(2024, 2, 19), calendar=CALENDAR)
    }

    assert steps["d-1"] == date(2024, 2, 16)
    assert steps["d-3"] == date(2024, 2, 7)
    assert steps["d-7"] == date(2024, 2, 1)


def test_a_weekend_deadline_counts_from_the_friday() -> None:
    steps = {
        s.name: s.fire_on for s in schedule(DEFAULT, due_on=date(2024, 6, 8), calendar=CALENDAR)
    }

    assert steps["d0"] == date(2024, 6, 7)
    assert steps["d-1"] == date(2024, 6, 6)
    assert steps["e+1"] == date(2024, 6, 10)


def test_missed_days_catch_up_with_the_latest_step_only() -> None:
    due = date(2024, 6, 10)
    # A sweep that first runs on 06/06 sends d-3 (not d-7 too), since d-1 is not due yet.
    assert [
        d.step.name
        for d in due_today(DEFAULT, due_on=due, today=date(2024, 6, 6), calendar=CALENDAR)
    ] == ["d-3"]


def test_the_last_step_goes_stale() -> None:
    due = date(2024, 6, 10)
    # r2 fires 03/07; five working days later it is no longer worth sending.
    assert due_today(DEFAULT, due_on=due, today=date(2024, 7, 10), calendar=CALENDAR)
    assert not due_today(DEFAULT, due_on=due, today=date(2024, 7, 11), calendar=CALENDAR)


def test_the_repeat_cap() -> None:
    policy = ReminderPolicy(repeat_every=2, max_repeats=3)
    names = [s.name for s in schedule(policy, due_on=date(2024, 6, 10), calendar=CALENDAR)]

    assert names[-3:] == ["r1", "r2", "r3"]
    assert "r1" not in [
        s.name
        for s in schedule(
            ReminderPolicy(max_repeats=0), due_on=date(2024, 6, 10), calendar=CALENDAR
        )
    ]


def test_a_disabled_policy_has_no_steps() -> None:
    assert (
        schedule(ReminderPolicy(enabled=False), due_on=date(2024, 6, 10), calendar=CALENDAR) == []
    )


def test_plan_overrides() -> None:
    policy = DEFAULT.with_overrides(PolicyOverrides(before=(5,), on_the_day=False))

    assert [s.name for s in schedule(policy, due_on=date(2024, 6, 10), calendar=CALENDAR)][:2] == [
        "d-5",
        "e+1",
    ]
    assert DEFAULT.with_overrides(PolicyOverrides()) is DEFAULT


@pytest.mark.parametrize(
    "today", [date(2024, 6, 12), date(2024, 2, 7), date(2024, 2, 19), date(2024, 6, 8)]
)
def test_window_holds_every_due_date_with_something_due(today: date) -> None:
    policy = ReminderPolicy(before=(10, 2), repeat_every=3, max_repeats=4)
    earliest, latest = due_on_window([DEFAULT, policy], today=today, calendar=CALENDAR)

    due_dates = [today + timedelta(days=offset) for offset in range(-120, 120)]
    with_something = [
        due_on
        for due_on in due_dates
        if any(
            due_today(p, due_on=due_on, today=today, calendar=CALENDAR) for p in (DEFAULT, policy)
        )
    ]
    assert with_something
    assert earliest <= min(with_something)
    assert max(with_something) <= latest
    # ...and it is not much wider than needed.
    assert (min(with_something) - earliest).days <= 14
    assert (latest - max(with_something)).days <= 14


def test_parse_settings_text() -> None:
    assert parse_days("7, 3,1") == (7, 3, 1)
    assert parse_days("") == ()
    ladder = parse_ladder("1=focal_point+agency_head, 3=lead_office,7=leadership!")

    assert ladder == (
        Rung(1, frozenset({Audience.FOCAL_POINT, Audience.AGENCY_HEAD})),
        Rung(3, frozenset({Audience.LEAD_OFFICE})),
        Rung(7, frozenset({Audience.LEADERSHIP}), immediate=True),
    )
    assert format_ladder(ladder) == "1=agency_head+focal_point,3=lead_office,7=leadership!"


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            lambda: parse_days("7,ba"),
            "notify.policy_bad_number",
            "“ba” không phải là một số ngày làm việc.",
        ),
        (
            lambda: parse_ladder("3:lead_office"),
            "notify.policy_bad_rung",
            "Bậc chuyển cấp “3:lead_office” không đúng dạng",
        ),
        (
            lambda: parse_ladder("3=boss"),
            "notify.policy_bad_audience",
            "Không có nhóm người nhận “boss”",
        ),
        (
            lambda: ReminderPolicy(before=(0,)),
            "notify.policy_bad_days",
            "Số ngày làm việc 0 không hợp lệ",
        ),
        (lambda: ReminderPolicy(before=(3, 3)), "notify.policy_duplicate_days", "bị lặp lại"),
        (
            lambda: ReminderPolicy(ladder=(Rung(2, frozenset()),)),
            "notify.policy_empty_rung",
            "chưa có người nhận",
        ),
        (
            lambda: ReminderPolicy(max_repeats=99),
            "notify.policy_bad_max_repeats",
            "Số lần nhắc lại tối đa",
        ),
        (
            lambda: ReminderPolicy(repeat_every=-1),
            "notify.policy_bad_repeat",
            "Khoảng cách nhắc lại",
        ),
    ],
)
def test_bad_policies_are_refused(call, code: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        call()

    assert error.value.code == code
    assert message in error.value.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("escalation_ladder", "3=boss", "Không có nhóm người nhận “boss”"),
        ("reminder_days", "7,3,3", "bị lặp lại"),
        ("digest_time", "7h30", "Giờ “7h30” không đúng dạng GIỜ:PHÚT"),
        ("digest_time", "24:00", "Giờ “24:00” không đúng dạng GIỜ:PHÚT"),
    ],
)
def test_settings_the_scheduler_cannot_use_are_refused_at_start(
    field: str, value: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment="test", **{field: value})

    assert message in str(error.value)


def test_tls_and_starttls_together_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment="test", smtp_tls=True, smtp_starttls=True)

    assert "Chỉ bật một trong hai" in str(error.value)


def test_the_deployment_policy_comes_from_settings() -> None:
    settings = Settings(
        environment="test",
        reminder_days="5,2",
        reminder_on_the_day=False,
        escalation_ladder="2=lead_office!",
        reminder_repeat_every=0,
    )

    policy = policy_from_settings(settings)

    assert [s.name for s in schedule(policy, due_on=date(2024, 6, 10), calendar=CALENDAR)] == [
        "d-5",
        "d-2",
        "e+2",
    ]
    assert policy.ladder[0].immediate
