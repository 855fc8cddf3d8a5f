"""The notifications API: outbox view and retry, "đôn đốc", plan policies, holidays, pauses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from notifications import jobs, outbox
from service.clock import FixedClock, get_clock
from service.config import Settings
from service.database import dispose_engines
from service.main import create_app
from service.models import (
    AuditLog,
    ExtraHoliday,
    Notification,
    NotificationStatus,
    ObligationStatus,
    PlanReminderPolicy,
    PlanStatus,
    User,
    UserRole,
)
from tests import factories
from tests.notifications.scenario import (
    FARMING,
    FINANCE,
    FINANCE_HEAD,
    LEAD_OFFICE,
    LEADER,
    World,
    build_world,
    department,
)
from tests.notifications.smtp_sink import SmtpSink

# Wednesday 12/06/2024, 09:00 in Hanoi: the 6-month report (10/06) is two working days late.
NOW = datetime(2024, 6, 12, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def api(notify_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(notify_settings)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        yield client
    dispose_engines()


@pytest.fixture
def world(session: Session) -> World:
    world = build_world(session, task_due={"farming": date(2024, 6, 20)})
    session.commit()
    return world


def headers(session: Session, email: str) -> dict[str, str]:
    user = session.scalars(select(User).where(User.email == email)).one()
    result = factories.auth_headers(session, user)
    session.commit()
    return result


def admin_headers(session: Session) -> dict[str, str]:
    admin = User(email="quantri@tuyphuoc.gov.vn", full_name="Quản Trị", role=UserRole.ADMIN)
    session.add(admin)
    session.flush()
    result = factories.auth_headers(session, admin)
    session.commit()
    return result


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- Outbox --------------------------------------------------------------------------------------


def fill_outbox(session: Session, settings: Settings) -> list[int]:
    ids = []
    for number in range(3):
        new_id = outbox.enqueue(
            session,
            dedup_key=f"test:{number}",
            recipient_email=f"nguoi{number}@xa.gov.vn",
            user_id=None,
            kind="test",
            subject=f"Thư số {number}",
            body_text="Liên kết bí mật https://x/auth/link/abc",
            body_html=None,
            now=NOW,
            sender=settings.smtp_sender,
        )
        assert new_id is not None
        ids.append(new_id)
    session.commit()
    return ids


def test_the_outbox_by_status_and_a_retry(
    api: TestClient,
    session: Session,
    engine: Engine,
    notify_settings: Settings,
    smtp: SmtpSink,
    clock: FixedClock,
) -> None:
    ids = fill_outbox(session, notify_settings)
    smtp.refuse["nguoi1@xa.gov.vn"] = "550 5.1.1 No such user"
    asyncio.run(jobs.dispatch(engine, settings=notify_settings, clock=clock))
    admin = admin_headers(session)

    summary = api.get("/api/notifications/outbox/summary", headers=admin)
    failed = api.get("/api/notifications/outbox", params={"status": "failed"}, headers=admin)
    everything = api.get("/api/notifications/outbox", headers=admin)

    assert summary.json() == {"pending": 0, "sending": 0, "sent": 2, "failed": 1}
    assert failed.json()["total"] == 1
    (item,) = failed.json()["items"]
    assert item["id"] == ids[1]
    assert item["recipient_email"] == "nguoi1@xa.gov.vn"
    assert item["subject"] == "Thư số 1"
    assert "550" in item["last_error"]
    assert item["next_attempt_at"].endswith("+07:00")
    # Bodies (which may hold sign-in links) are not shown.
    assert "auth/link" not in everything.text
    assert everything.json()["total"] == 3

    # The address is fixed; the administrator retries.
    del smtp.refuse["nguoi1@xa.gov.vn"]
    retried = api.post("/api/notifications/outbox/retry", json={"ids": [ids[1]]}, headers=admin)
    assert retried.status_code == 200
    assert retried.json() == {"retried": 1}
    asyncio.run(jobs.dispatch(engine, settings=notify_settings, clock=clock))
    assert [m.to for m in smtp.take()][-1] == "nguoi1@xa.gov.vn"
    assert api.get("/api/notifications/outbox/summary", headers=admin).json()["sent"] == 3


def test_retry_refuses_what_it_cannot_do_and_writes_nothing(
    api: TestClient, session: Session, notify_settings: Settings
) -> None:
    ids = fill_outbox(session, notify_settings)
    admin = admin_headers(session)
    audit_before = count(session, AuditLog)

    unknown = api.post("/api/notifications/outbox/retry", json={"ids": [987654]}, headers=admin)
    pending = api.post("/api/notifications/outbox/retry", json={"ids": ids[:1]}, headers=admin)
    nothing = api.post("/api/notifications/outbox/retry", json={}, headers=admin)
    bad = api.post("/api/notifications/outbox/retry", json={"ids": ["một"]}, headers=admin)

    assert (unknown.status_code, error_code(unknown)) == (404, "notify.outbox_not_found")
    assert unknown.json()["error"]["message"] == "Không tìm thấy thư số 987654 trong hộp thư đi."
    assert (pending.status_code, error_code(pending)) == (409, "notify.not_failed")
    assert (nothing.status_code, error_code(nothing)) == (422, "notify.retry_nothing")
    assert (bad.status_code, error_code(bad)) == (422, "request.invalid")
    assert count(session, AuditLog) == audit_before
    assert {row.status for row in session.scalars(select(Notification))} == {
        NotificationStatus.PENDING
    }


def test_retry_all_failed(api: TestClient, session: Session, notify_settings: Settings) -> None:
    ids = fill_outbox(session, notify_settings)
    for row in session.scalars(select(Notification).where(Notification.id.in_(ids[:2]))):
        row.status = NotificationStatus.FAILED
        row.attempts = 10
    session.commit()

    response = api.post(
        "/api/notifications/outbox/retry", json={"all_failed": True}, headers=admin_headers(session)
    )

    assert response.json() == {"retried": 2}
    session.expire_all()
    assert {(row.status, row.attempts) for row in session.scalars(select(Notification))} == {
        (NotificationStatus.PENDING, 0)
    }


def test_only_administrators_see_the_outbox(
    api: TestClient, session: Session, world: World
) -> None:
    lead = headers(session, LEAD_OFFICE)

    assert api.get("/api/notifications/outbox", headers=lead).status_code == 403
    assert (
        api.post(
            "/api/notifications/outbox/retry", json={"all_failed": True}, headers=lead
        ).status_code
        == 403
    )
    assert api.get("/api/notifications/outbox").status_code == 401


# --- "Đôn đốc" -------------------------------------------------------------------------------------


def test_the_lead_office_urges_agencies_through_the_outbox(
    api: TestClient,
    session: Session,
    engine: Engine,
    world: World,
    notify_settings: Settings,
    smtp: SmtpSink,
    clock: FixedClock,
) -> None:
    lead = headers(session, LEAD_OFFICE)
    body = {
        "plan_id": world.plan.id,
        "agency_ids": [world.agencies["farming"].id, world.agencies["finance"].id],
        "message": "Đề nghị gửi báo cáo trước 17 giờ ngày 14/6.",
    }

    first = api.post("/api/notifications/urge", json=body, headers=lead)
    again = api.post("/api/notifications/urge", json=body, headers=lead)

    assert first.status_code == 201
    assert first.json() == {
        "queued": 2,
        "recipients": [
            {
                "agency_id": world.agencies["farming"].id,
                "agency": "Phòng Nông nghiệp và Phát triển nông thôn",
                "email": FARMING,
                "outcome": "queued",
            },
            {
                "agency_id": world.agencies["finance"].id,
                "agency": "Phòng Tài chính - Kế hoạch",
                "email": FINANCE,
                "outcome": "queued",
            },
        ],
    }
    assert again.json()["queued"] == 0
    assert {r["outcome"] for r in again.json()["recipients"]} == {"already_urged_today"}

    asyncio.run(jobs.dispatch(engine, settings=notify_settings, clock=clock))
    mail = {m.to: m for m in smtp.take()}
    assert set(mail) == {FARMING, FINANCE}
    farming = mail[FARMING]
    # Overdue report and a task due soon: more than one item, so the plan is the subject.
    assert farming.subject == (
        "[Đôn đốc] Phòng Nông nghiệp và Phát triển nông thôn — Kế hoạch 145/KH-UBND"
    )
    text = farming.text()
    assert "Kính gửi Võ Thị Nông," in text
    assert (
        "Nguyễn Thị Thường Trực (Phòng Lao động - Thương binh và Xã hội) đề nghị "
        "Phòng Nông nghiệp và Phát triển nông thôn khẩn trương thực hiện Kế hoạch 145/KH-UBND."
    ) in text
    assert "Đề nghị gửi báo cáo trước 17 giờ ngày 14/6." in text
    assert (
        "- Báo cáo 6 tháng đầu năm 2024 — Kế hoạch 145/KH-UBND — hạn 10/06/2024 "
        "(quá hạn 2 ngày làm việc)"
    ) in text
    assert "hạn 20/06/2024 (còn 6 ngày làm việc)" in text
    assert "https://dondoc.tuyphuoc.gov.vn/auth/link/" in text
    # Finance has only the report: its subject names it.
    assert mail[FINANCE].subject == (
        "[Đôn đốc] Báo cáo 6 tháng đầu năm 2024 — Kế hoạch 145/KH-UBND — hạn 10/06/2024 "
        "(quá hạn 2 ngày làm việc)"
    )
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "notification.urge")).all()
    assert len(audit) == 2


def test_urging_an_agency_whose_focal_point_is_away_reaches_its_head(
    api: TestClient, session: Session, world: World
) -> None:
    world.users[FINANCE].reminders_paused_until = date(2024, 6, 30)
    world.users[FARMING].reminders_paused_until = date(2024, 6, 30)
    session.commit()

    response = api.post(
        "/api/notifications/urge",
        json={
            "plan_id": world.plan.id,
            "agency_ids": [world.agencies["finance"].id, world.agencies["farming"].id],
        },
        headers=headers(session, LEAD_OFFICE),
    )

    assert [(r["email"], r["outcome"]) for r in response.json()["recipients"]] == [
        (FINANCE_HEAD, "queued"),
        (None, "no_recipient"),
    ]


@pytest.mark.parametrize(
    ("who", "change", "status", "code"),
    [
        (FINANCE, None, 403, "auth.forbidden"),
        (LEADER, None, 403, "auth.forbidden"),
        (LEAD_OFFICE, "other_agency", 422, "notify.agency_not_in_plan"),
        (LEAD_OFFICE, "closed", 409, "notify.plan_not_active"),
        (LEAD_OFFICE, "unknown_plan", 404, "notify.plan_not_found"),
        (LEAD_OFFICE, "no_agencies", 422, "request.invalid"),
        (LEAD_OFFICE, "long_message", 422, "request.invalid"),
        ("other_lead", None, 404, "notify.plan_not_found"),
    ],
)
def test_bad_urges_are_refused_and_send_nothing(
    api: TestClient,
    session: Session,
    world: World,
    who: str,
    change: str | None,
    status: int,
    code: str,
) -> None:
    body: dict[str, Any] = {"plan_id": world.plan.id, "agency_ids": [world.agencies["farming"].id]}
    if who == "other_lead":
        other = department(session, "Phòng Lao động huyện Phù Cát")
        session.add(
            User(
                email="ldtbxh@phucat.gov.vn",
                full_name="Người Khác",
                role=UserRole.LEAD_OFFICE,
                agency_id=other.id,
            )
        )
        session.commit()
        who = "ldtbxh@phucat.gov.vn"
    if change == "other_agency":
        body["agency_ids"] = [world.agencies["committee"].id]
    elif change == "closed":
        world.plan.status = PlanStatus.CLOSED
        session.commit()
    elif change == "unknown_plan":
        body["plan_id"] = 987654
    elif change == "no_agencies":
        body["agency_ids"] = []
    elif change == "long_message":
        body["message"] = "x" * 2001

    response = api.post("/api/notifications/urge", json=body, headers=headers(session, who))

    assert response.status_code == status
    assert error_code(response) == code
    assert count(session, Notification) == 0


# --- Plan policies -------------------------------------------------------------------------------

DEFAULT_POLICY = {
    "reminder_days": [7, 3, 1],
    "on_the_day": True,
    "escalation_ladder": [
        {"after": 1, "audiences": ["agency_head", "focal_point"], "immediate": False},
        {"after": 3, "audiences": ["lead_office"], "immediate": False},
        {"after": 7, "audiences": ["leadership"], "immediate": False},
    ],
    "repeat_every": 5,
    "max_repeats": 2,
    "enabled": True,
}


def test_a_plan_policy_is_read_overridden_and_cleared(
    api: TestClient, session: Session, world: World
) -> None:
    lead = headers(session, LEAD_OFFICE)
    url = f"/api/notifications/plans/{world.plan.id}/policy"

    before = api.get(url, headers=headers(session, FARMING))
    changed = api.put(
        url,
        json={
            "reminder_days": [5, 2],
            "escalation_ladder": [
                {"after": 2, "audiences": ["lead_office", "leadership"], "immediate": True}
            ],
        },
        headers=lead,
    )
    cleared = api.delete(url, headers=lead)
    after = api.get(url, headers=lead)

    assert before.json()["effective"] == DEFAULT_POLICY
    assert changed.status_code == 200
    assert changed.json()["overrides"]["reminder_days"] == [5, 2]
    assert changed.json()["overrides"]["on_the_day"] is None
    assert changed.json()["effective"] == {
        **DEFAULT_POLICY,
        "reminder_days": [5, 2],
        "escalation_ladder": [
            {"after": 2, "audiences": ["lead_office", "leadership"], "immediate": True}
        ],
    }
    assert cleared.status_code == 204
    assert after.json()["effective"] == DEFAULT_POLICY
    assert count(session, PlanReminderPolicy) == 0


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        (FINANCE, {"enabled": False}, 403, "auth.forbidden"),
        ("other_lead", {"enabled": False}, 404, "notify.plan_not_found"),
        (LEADER, {"enabled": False}, 403, "auth.forbidden"),
        (LEAD_OFFICE, {"reminder_days": [3, 3]}, 422, "notify.policy_duplicate_days"),
        (LEAD_OFFICE, {"reminder_days": [0]}, 422, "request.invalid"),
        (LEAD_OFFICE, {"max_repeats": 11}, 422, "request.invalid"),
        (
            LEAD_OFFICE,
            {"escalation_ladder": [{"after": 3, "audiences": ["boss"]}]},
            422,
            "request.invalid",
        ),
        (LEAD_OFFICE, {"remind": True}, 422, "request.invalid"),
    ],
)
def test_bad_policy_changes_are_refused(
    api: TestClient,
    session: Session,
    world: World,
    who: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    if who == "other_lead":
        other = department(session, "Phòng Lao động huyện Phù Cát")
        session.add(
            User(
                email="ldtbxh@phucat.gov.vn",
                full_name="Người Khác",
                role=UserRole.LEAD_OFFICE,
                agency_id=other.id,
            )
        )
        session.commit()
        who = "ldtbxh@phucat.gov.vn"
    response = api.put(
        f"/api/notifications/plans/{world.plan.id}/policy", json=body, headers=headers(session, who)
    )

    assert response.status_code == status
    assert error_code(response) == code
    assert count(session, PlanReminderPolicy) == 0


def test_another_agencys_plan_policy_is_not_found(
    api: TestClient, session: Session, world: World
) -> None:
    other = department(session, "Phòng Y tế huyện Phù Cát")
    session.add(
        User(
            email="yte@phucat.gov.vn",
            full_name="Y Tế",
            role=UserRole.FOCAL_POINT,
            agency_id=other.id,
        )
    )
    session.commit()

    response = api.get(
        f"/api/notifications/plans/{world.plan.id}/policy",
        headers=headers(session, "yte@phucat.gov.vn"),
    )
    huge = api.get("/api/notifications/plans/2147483648/policy", headers=headers(session, LEADER))

    assert (response.status_code, error_code(response)) == (404, "notify.plan_not_found")
    assert huge.status_code == 422


def test_a_disabled_plan_sends_no_reminders(
    api: TestClient,
    session: Session,
    engine: Engine,
    world: World,
    notify_settings: Settings,
    smtp: SmtpSink,
) -> None:
    api.put(
        f"/api/notifications/plans/{world.plan.id}/policy",
        json={"enabled": False},
        headers=headers(session, LEAD_OFFICE),
    )

    clock = FixedClock(NOW)  # 09:00: after the digest time
    result = asyncio.run(jobs.run_pass(engine, settings=notify_settings, clock=clock))

    assert result.events == 0
    assert smtp.take() == []


def test_an_immediate_rung_goes_out_on_its_own(
    api: TestClient,
    session: Session,
    engine: Engine,
    world: World,
    notify_settings: Settings,
    smtp: SmtpSink,
) -> None:
    api.put(
        f"/api/notifications/plans/{world.plan.id}/policy",
        json={"escalation_ladder": [{"after": 2, "audiences": ["lead_office"], "immediate": True}]},
        headers=headers(session, LEAD_OFFICE),
    )

    asyncio.run(jobs.run_pass(engine, settings=notify_settings, clock=FixedClock(NOW)))

    mail = smtp.take()
    to_lead = sorted(m.subject for m in mail if m.to == LEAD_OFFICE)
    late = (
        "Báo cáo 6 tháng đầu năm 2024 — Kế hoạch 145/KH-UBND — hạn 10/06/2024 "
        "(quá hạn 2 ngày làm việc)"
    )
    # One e-mail per late agency, not one digest.
    assert to_lead == [
        f"[Quá hạn] Phòng Nông nghiệp và Phát triển nông thôn: {late}",
        f"[Quá hạn] Phòng Tài chính - Kế hoạch: {late}",
    ]
    # The focal points still get their usual digest.
    assert {m.to for m in mail} - {LEAD_OFFICE} == {FARMING, FINANCE}


# --- Holidays and pauses -------------------------------------------------------------------------


def test_holidays_of_a_year_and_extra_days_off(
    api: TestClient, session: Session, world: World
) -> None:
    admin = admin_headers(session)
    reader = headers(session, FARMING)

    added = api.post(
        "/api/notifications/holidays",
        json={"day": "2024-09-04", "name": "Nghỉ bù Quốc khánh"},
        headers=admin,
    )
    twice = api.post(
        "/api/notifications/holidays", json={"day": "2024-09-04", "name": "Lần nữa"}, headers=admin
    )
    listed = api.get("/api/notifications/holidays", params={"year": 2024}, headers=reader)

    assert added.status_code == 201
    assert (twice.status_code, error_code(twice)) == (409, "notify.holiday_exists")
    days = {(h["day"], h["source"]): h["name"] for h in listed.json()}
    assert days[("2024-02-10", "built_in")] == "Tết Nguyên Đán"
    assert days[("2024-09-02", "built_in")] == "Quốc khánh"
    assert days[("2024-09-04", "extra")] == "Nghỉ bù Quốc khánh"

    removed = api.delete("/api/notifications/holidays", params={"day": "2024-09-04"}, headers=admin)
    gone = api.delete("/api/notifications/holidays", params={"day": "2024-09-04"}, headers=admin)
    assert removed.status_code == 204
    assert (gone.status_code, error_code(gone)) == (404, "notify.holiday_not_found")
    assert count(session, ExtraHoliday) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"day": "2024-02-30", "name": "Ngày không có"}, "request.invalid"),
        ({"day": "2024-09-04", "name": "  "}, "request.invalid"),
        ({"day": "04/09/2024", "name": "Sai dạng ngày"}, "request.invalid"),
    ],
)
def test_bad_holidays_are_refused(
    api: TestClient, session: Session, body: dict[str, str], code: str
) -> None:
    response = api.post("/api/notifications/holidays", json=body, headers=admin_headers(session))

    assert (response.status_code, error_code(response)) == (422, code)
    assert count(session, ExtraHoliday) == 0


def test_only_administrators_add_holidays(api: TestClient, session: Session, world: World) -> None:
    response = api.post(
        "/api/notifications/holidays",
        json={"day": "2024-09-04", "name": "Nghỉ"},
        headers=headers(session, LEAD_OFFICE),
    )

    assert response.status_code == 403
    assert count(session, ExtraHoliday) == 0


def test_an_administrator_pauses_and_resumes_reminders(
    api: TestClient, session: Session, world: World
) -> None:
    admin = admin_headers(session)
    user_id = world.users[FARMING].id
    url = f"/api/notifications/users/{user_id}/pause"

    paused = api.put(url, json={"until": "2024-06-28"}, headers=admin)
    past = api.put(url, json={"until": "2024-06-11"}, headers=admin)
    too_far = api.put(
        url, json={"until": (NOW.date() + timedelta(days=400)).isoformat()}, headers=admin
    )
    unknown = api.put("/api/notifications/users/987654/pause", json={"until": None}, headers=admin)
    by_lead = api.put(url, json={"until": None}, headers=headers(session, LEAD_OFFICE))

    assert paused.json() == {"user_id": user_id, "reminders_paused_until": "2024-06-28"}
    assert (past.status_code, error_code(past)) == (422, "notify.pause_out_of_range")
    assert too_far.status_code == 422
    assert (unknown.status_code, error_code(unknown)) == (404, "notify.user_not_found")
    assert by_lead.status_code == 403
    session.expire_all()
    assert session.get(User, user_id).reminders_paused_until == date(2024, 6, 28)

    resumed = api.put(url, json={"until": None}, headers=admin)
    assert resumed.json()["reminders_paused_until"] is None


# --- Calendar feed -------------------------------------------------------------------------------


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_the_calendar_feed_lists_the_callers_open_deadlines(
    api: TestClient, session: Session, world: World
) -> None:
    finance = world.agencies["finance"]
    world.obligations[("finance", date(2024, 6, 10))].status = ObligationStatus.SUBMITTED
    session.commit()

    mine = api.get("/api/notifications/calendar.ics", headers=headers(session, FARMING))
    theirs = api.get("/api/notifications/calendar.ics", headers=headers(session, FINANCE))

    assert mine.status_code == 200
    assert mine.headers["content-type"] == "text/calendar; charset=utf-8"
    lines = unfold(mine.text)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-2:] == ["END:VCALENDAR", ""]
    summaries = [line.removeprefix("SUMMARY:") for line in lines if line.startswith("SUMMARY:")]
    starts = [line for line in lines if line.startswith("DTSTART")]
    # Farming: both reports (one overdue) and its task due 20/06, by date.
    assert summaries == [
        "Báo cáo 6 tháng đầu năm 2024 — Kế hoạch 145/KH-UBND (Phòng Nông nghiệp và Phát triển nông thôn)",
        "Nhiệm vụ: Chủ trì\\, trực tiếp quản lý\\, hướng dẫn và tổ chức thực hiện Tiểu dự án 1 (Dự án 3)\\; theo… — Kế hoạch 145/KH-UBND (Phòng Nông nghiệp và Phát triển nông thôn)",
        "Báo cáo năm 2024 — Kế hoạch 145/KH-UBND (Phòng Nông nghiệp và Phát triển nông thôn)",
    ]
    assert starts == [
        "DTSTART;VALUE=DATE:20240610",
        "DTSTART;VALUE=DATE:20240620",
        "DTSTART;VALUE=DATE:20241110",
    ]
    assert all(len(line.encode()) <= 75 for line in mine.text.split("\r\n"))
    # Finance submitted its 6-month report: only the annual one is left, and nothing of farming.
    their_summaries = [line for line in unfold(theirs.text) if line.startswith("SUMMARY:")]
    assert their_summaries == [f"SUMMARY:Báo cáo năm 2024 — Kế hoạch 145/KH-UBND ({finance.name})"]


def test_the_calendar_feed_needs_a_signed_in_user(api: TestClient) -> None:
    response = api.get("/api/notifications/calendar.ics")

    assert (response.status_code, error_code(response)) == (401, "auth.required")
