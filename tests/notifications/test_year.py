"""A plan year, day by day: exactly which e-mails each person gets, and when.

The Tuy Phước 2024 plan (a fixture) is active; the finance and farming offices owe its 6-month
report (Monday 10/06/2024) and its annual report (Sunday 10/11/2024) and have tasks due around
Tết and the 30/4-1/5 holidays. The scheduler runs twice a day (06:00 and 08:00, Asia/Ho_Chi_Minh)
against a real SMTP server; people act at 10:00 through the tasks service. An administrator has
made Friday 07/06/2024 a day off.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notifications import jobs
from service.clock import FixedClock
from service.config import Settings
from service.database import SessionFactory
from service.models import ExtraHoliday, ReminderEvent, ReportObligation, Task, TaskState, User
from service.tasks import service as task_service
from service.tasks.schemas import ReportReturn, ReportSubmit, StatusUpdateCreate
from tests.notifications.scenario import (
    FARMING,
    FINANCE,
    FINANCE_HEAD,
    LEAD_OFFICE,
    LEADER,
    build_world,
)
from tests.notifications.smtp_sink import SmtpSink

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PLAN = "Kế hoạch 145/KH-UBND"
SIX = "Báo cáo 6 tháng đầu năm 2024"
YEAR = "Báo cáo năm 2024"
FARMING_OFFICE = "Phòng Nông nghiệp và Phát triển nông thôn"
FINANCE_OFFICE = "Phòng Tài chính - Kế hoạch"
FARMING_TASK = "Nhiệm vụ: Chủ trì, trực tiếp quản lý, hướng dẫn và tổ chức thực hiện Tiểu dự án 1 (Dự án 3); theo…"
FARMING_TASK_2 = (
    "Nhiệm vụ: Hướng dẫn thực hiện Chương trình MTQG về xây dựng nông thôn mới gắn với công tác…"
)


def subject(title: str, due: str, status: str) -> str:
    tag = "Quá hạn" if status.startswith("quá hạn") else "Nhắc hạn"
    return f"[{tag}] {title} — {PLAN} — hạn {due} ({status})"


def escalated(agency: str, title: str, due: str, status: str) -> str:
    return f"[Quá hạn] {agency}: {title} — {PLAN} — hạn {due} ({status})"


EXPECTED: dict[date, dict[str, list[str]]] = {
    # A task due Monday 19/02, after Tết (08/02-14/02): 7, 3 and 1 working days before.
    date(2024, 2, 1): {FARMING: [subject(FARMING_TASK_2, "19/02/2024", "còn 7 ngày làm việc")]},
    date(2024, 2, 7): {FARMING: [subject(FARMING_TASK_2, "19/02/2024", "còn 3 ngày làm việc")]},
    date(2024, 2, 16): {FARMING: [subject(FARMING_TASK_2, "19/02/2024", "còn 1 ngày làm việc")]},
    date(2024, 2, 19): {FARMING: [subject(FARMING_TASK_2, "19/02/2024", "hạn hôm nay")]},
    # Done at 10:00 on 19/02: nothing after. A task due Friday 03/05, after Hùng Kings' day
    # (18/04) and 29/04-01/05; Saturday 04/05 is a make-up working day.
    date(2024, 4, 19): {FARMING: [subject(FARMING_TASK, "03/05/2024", "còn 7 ngày làm việc")]},
    date(2024, 4, 25): {FARMING: [subject(FARMING_TASK, "03/05/2024", "còn 3 ngày làm việc")]},
    date(2024, 5, 2): {FARMING: [subject(FARMING_TASK, "03/05/2024", "còn 1 ngày làm việc")]},
    date(2024, 5, 3): {FARMING: [subject(FARMING_TASK, "03/05/2024", "hạn hôm nay")]},
    date(2024, 5, 4): {FARMING: [subject(FARMING_TASK, "03/05/2024", "quá hạn 1 ngày làm việc")]},
    # The 6-month report, Monday 10/06; Friday 07/06 is an extra day off. The finance office
    # also has a task due that day: one digest with both.
    date(2024, 5, 29): {
        FINANCE: ["[Nhắc hạn] 2 việc cần theo dõi — ngày 29/05/2024"],
        FARMING: [subject(SIX, "10/06/2024", "còn 7 ngày làm việc")],
    },
    date(2024, 6, 4): {
        FINANCE: ["[Nhắc hạn] 2 việc cần theo dõi — ngày 04/06/2024"],
        FARMING: [subject(SIX, "10/06/2024", "còn 3 ngày làm việc")],
    },
    date(2024, 6, 6): {
        FINANCE: ["[Nhắc hạn] 2 việc cần theo dõi — ngày 06/06/2024"],
        FARMING: [subject(SIX, "10/06/2024", "còn 1 ngày làm việc")],
    },
    # Finance submitted on 06/06 at 10:00 and finished its task: no more reminders for it.
    date(2024, 6, 10): {FARMING: [subject(SIX, "10/06/2024", "hạn hôm nay")]},
    date(2024, 6, 11): {FARMING: [subject(SIX, "10/06/2024", "quá hạn 1 ngày làm việc")]},
    # Finance's report was returned at 10:00 on 11/06: its reminders start again, at the
    # ladder's current rung (the focal point and the agency head).
    date(2024, 6, 12): {
        FINANCE: [subject(SIX, "10/06/2024", "quá hạn 2 ngày làm việc")],
        FINANCE_HEAD: [escalated(FINANCE_OFFICE, SIX, "10/06/2024", "quá hạn 2 ngày làm việc")],
    },
    # Resubmitted at 10:00 on 12/06. Farming still has not sent its report.
    date(2024, 6, 13): {
        LEAD_OFFICE: [escalated(FARMING_OFFICE, SIX, "10/06/2024", "quá hạn 3 ngày làm việc")]
    },
    date(2024, 6, 19): {
        LEADER: [escalated(FARMING_OFFICE, SIX, "10/06/2024", "quá hạn 7 ngày làm việc")]
    },
    # Farming's focal point paused reminders from 20/06 to 28/06: the repeat due 26/06 waits
    # for Monday 01/07; the second and last repeat comes on 03/07.
    date(2024, 7, 1): {FARMING: [subject(SIX, "10/06/2024", "quá hạn 15 ngày làm việc")]},
    date(2024, 7, 3): {FARMING: [subject(SIX, "10/06/2024", "quá hạn 17 ngày làm việc")]},
    # The annual report, due Sunday 10/11: counted to Friday 08/11.
    date(2024, 10, 30): {
        FINANCE: [subject(YEAR, "10/11/2024", "còn 7 ngày làm việc")],
        FARMING: [subject(YEAR, "10/11/2024", "còn 7 ngày làm việc")],
    },
    date(2024, 11, 5): {
        FINANCE: [subject(YEAR, "10/11/2024", "còn 3 ngày làm việc")],
        FARMING: [subject(YEAR, "10/11/2024", "còn 3 ngày làm việc")],
    },
    # Finance submitted on 06/11.
    date(2024, 11, 7): {FARMING: [subject(YEAR, "10/11/2024", "còn 1 ngày làm việc")]},
    date(2024, 11, 8): {
        FARMING: [subject(YEAR, "10/11/2024", "hôm nay là ngày làm việc cuối cùng")]
    },
    date(2024, 11, 11): {FARMING: [subject(YEAR, "10/11/2024", "quá hạn 1 ngày làm việc")]},
    # Farming submitted at 10:00 on 11/11: the year ends quietly.
}


class People:
    """What the plan's people do at 10:00 on given days, through the tasks service."""

    def __init__(self, engine: Engine, settings: Settings, world_ids: dict[str, int]) -> None:
        self.engine = engine
        self.settings = settings
        self.ids = world_ids

    def _session(self) -> Session:
        return SessionFactory(bind=self.engine)

    def _user(self, session: Session, email: str) -> User:
        return session.scalars(select(User).where(User.email == email)).one()

    def submit(self, email: str, obligation: str, clock: FixedClock) -> None:
        with self._session() as session, session.begin():
            row = session.get(ReportObligation, self.ids[obligation])
            assert row is not None
            task_service.submit_report(
                session,
                user=self._user(session, email),
                obligation_id=row.id,
                data=ReportSubmit(version=row.version, narrative="Đã thực hiện theo kế hoạch."),
                files=[],
                clock=clock,
                settings=self.settings,
            )

    def give_back(self, obligation: str, comment: str, clock: FixedClock) -> None:
        with self._session() as session, session.begin():
            row = session.get(ReportObligation, self.ids[obligation])
            assert row is not None
            task_service.return_report(
                session,
                user=self._user(session, LEAD_OFFICE),
                obligation_id=row.id,
                data=ReportReturn(version=row.version, comment=comment),
                clock=clock,
                settings=self.settings,
            )

    def finish(self, email: str, task: str, clock: FixedClock) -> None:
        with self._session() as session, session.begin():
            row = session.get(Task, self.ids[task])
            assert row is not None
            task_service.update_status(
                session,
                user=self._user(session, email),
                task_id=row.id,
                data=StatusUpdateCreate(version=row.version, state=TaskState.HOAN_THANH),
                files=[],
                clock=clock,
                settings=self.settings,
            )

    def pause(self, email: str, until: date) -> None:
        with self._session() as session, session.begin():
            self._user(session, email).reminders_paused_until = until


def test_a_plan_year_of_reminders(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    world = build_world(
        session,
        task_due={
            "finance": date(2024, 6, 10),
            "farming": date(2024, 5, 3),
            "farming-2": date(2024, 2, 19),
        },
    )
    session.add(ExtraHoliday(day=date(2024, 6, 7), name="Nghỉ bù (thử nghiệm)"))
    session.commit()
    ids = {
        "finance-six": world.obligations[("finance", date(2024, 6, 10))].id,
        "finance-year": world.obligations[("finance", date(2024, 11, 10))].id,
        "farming-year": world.obligations[("farming", date(2024, 11, 10))].id,
        **{name: task.id for name, task in world.tasks.items()},
    }
    people = People(engine, notify_settings, ids)
    actions = {
        date(2024, 2, 19): lambda c: people.finish(FARMING, "farming-2", c),
        date(2024, 5, 4): lambda c: people.finish(FARMING, "farming", c),
        date(2024, 6, 6): lambda c: (
            people.submit(FINANCE, "finance-six", c),
            people.finish(FINANCE, "finance", c),
        ),
        date(2024, 6, 11): lambda c: people.give_back(
            "finance-six", "Bổ sung số liệu hộ nghèo <theo mẫu 02>.", c
        ),
        date(2024, 6, 12): lambda c: people.submit(FINANCE, "finance-six", c),
        date(2024, 6, 20): lambda c: people.pause(FARMING, date(2024, 6, 28)),
        date(2024, 11, 6): lambda c: people.submit(FINANCE, "finance-year", c),
        date(2024, 11, 11): lambda c: people.submit(FARMING, "farming-year", c),
    }

    clock = FixedClock(datetime(2024, 1, 1, tzinfo=UTC))
    received: dict[date, dict[str, list[str]]] = {}
    by_day: dict[date, list] = defaultdict(list)
    day = date(2024, 1, 1)
    while day <= date(2024, 12, 31):
        for hour in (6, 8):
            clock.set(datetime.combine(day, time(hour), VN))
            asyncio.run(jobs.run_pass(engine, settings=notify_settings, clock=clock))
        mail = smtp.take()
        if mail:
            by_day[day] = mail
            mine: dict[str, list[str]] = defaultdict(list)
            for message in mail:
                mine[message.to].append(message.subject)
            received[day] = {to: sorted(subjects) for to, subjects in mine.items()}
        if day in actions:
            clock.set(datetime.combine(day, time(10), VN))
            actions[day](clock)
        day += timedelta(days=1)

    assert received == EXPECTED

    # The digest of two items lists both, with the one-click sign-in link.
    digest = by_day[date(2024, 5, 29)]
    finance_digest = next(m for m in digest if m.to == FINANCE)
    text = finance_digest.text()
    assert "Kính gửi Phạm Văn Tài," in text
    assert f"- {SIX} — {PLAN} — hạn 10/06/2024 (còn 7 ngày làm việc)" in text
    assert "- Nhiệm vụ: Tham mưu UBND huyện cân đối nguồn lực" in text
    assert "https://dondoc.tuyphuoc.gov.vn/auth/link/" in text
    assert "https://dondoc.tuyphuoc.gov.vn/auth/link/" in finance_digest.html()
    # The returned report carries the lead office's comment, escaped in HTML.
    returned = next(m for m in by_day[date(2024, 6, 12)] if m.to == FINANCE)
    assert "Báo cáo đã bị trả lại: Bổ sung số liệu hộ nghèo <theo mẫu 02>." in returned.text()
    assert "Bổ sung số liệu hộ nghèo &lt;theo mẫu 02&gt;." in returned.html()
    # The agency head has no account: no sign-in link, the service's address instead.
    head = next(m for m in by_day[date(2024, 6, 12)] if m.to == FINANCE_HEAD)
    assert "/auth/link/" not in head.text()
    assert "Mở dondoc: https://dondoc.tuyphuoc.gov.vn" in head.text()
    # Each e-mail has its own stable Message-ID.
    everything = [m for mail in by_day.values() for m in mail]
    assert len({m.message_id for m in everything}) == len(everything)
    assert all(m.message_id.endswith("@tuyphuoc.gov.vn>") for m in everything)

    # Running the last day again changes nothing: every reminder has its dedup key.
    with SessionFactory(bind=engine) as check:
        events = check.scalar(select(ReminderEvent.id).order_by(ReminderEvent.id.desc()))
    asyncio.run(jobs.run_pass(engine, settings=notify_settings, clock=clock))
    assert smtp.take() == []
    with SessionFactory(bind=engine) as check:
        assert check.scalar(select(ReminderEvent.id).order_by(ReminderEvent.id.desc())) == events
