"""Delivery through the outbox to a real SMTP server: once, retried when it makes sense."""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from notifications import jobs, outbox
from service.auth.service import request_login_link
from service.clock import FixedClock
from service.config import Settings
from service.database import SessionFactory, make_engine
from service.models import Notification, NotificationStatus, User, UserRole
from tests.notifications.smtp_sink import SmtpSink

NOW = datetime(2024, 6, 10, 2, 0, tzinfo=UTC)


def queue(session: Session, settings: Settings, count: int, *, prefix: str = "test") -> None:
    for number in range(count):
        outbox.enqueue(
            session,
            dedup_key=f"{prefix}:{number}",
            recipient_email=f"nguoi{number}@xa.gov.vn",
            user_id=None,
            kind="test",
            subject=f"Thư số {number}",
            body_text=f"Nội dung thư số {number}.",
            body_html=f"<p>Nội dung thư số {number}.</p>",
            now=NOW,
            sender=settings.smtp_sender,
        )
    session.commit()


def send(engine: Engine, settings: Settings, clock: FixedClock) -> jobs.DispatchResult:
    return asyncio.run(jobs.dispatch(engine, settings=settings, clock=clock))


def statuses(session: Session) -> dict[str, str]:
    session.expire_all()
    return {
        row.dedup_key: row.status.value
        for row in session.scalars(select(Notification).order_by(Notification.id))
    }


def test_the_same_dedup_key_is_queued_once(session: Session, notify_settings: Settings) -> None:
    first = outbox.enqueue(
        session,
        dedup_key="reminder:obligation:1:d-3",
        recipient_email="a@xa.gov.vn",
        user_id=None,
        kind="test",
        subject="Một",
        body_text="Một",
        body_html=None,
        now=NOW,
        sender=notify_settings.smtp_sender,
    )
    second = outbox.enqueue(
        session,
        dedup_key="reminder:obligation:1:d-3",
        recipient_email="a@xa.gov.vn",
        user_id=None,
        kind="test",
        subject="Hai",
        body_text="Hai",
        body_html=None,
        now=NOW,
        sender=notify_settings.smtp_sender,
    )

    assert first is not None
    assert second is None
    assert [row.subject for row in session.scalars(select(Notification))] == ["Một"]


def test_message_ids_are_stable_and_distinct() -> None:
    sender = "dondoc <dondoc@tuyphuoc.gov.vn>"

    assert outbox.message_id_for("a", sender=sender) == outbox.message_id_for("a", sender=sender)
    assert outbox.message_id_for("a", sender=sender) != outbox.message_id_for("b", sender=sender)
    assert outbox.message_id_for("a", sender=sender).endswith(".dondoc@tuyphuoc.gov.vn>")


def test_queued_mail_is_delivered_once_with_text_and_html(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, notify_settings, 3)
    clock = FixedClock(NOW)

    result = send(engine, notify_settings, clock)
    again = send(engine, notify_settings, clock)

    assert (result.sent, again.sent) == (3, 0)
    mail = sorted(smtp.take(), key=lambda m: m.subject)
    assert [(m.to, m.subject) for m in mail] == [
        (f"nguoi{n}@xa.gov.vn", f"Thư số {n}") for n in range(3)
    ]
    assert mail[0].text().strip() == "Nội dung thư số 0."
    assert mail[0].html().strip() == "<p>Nội dung thư số 0.</p>"
    assert str(mail[0].message["From"]) == "dondoc <dondoc@tuyphuoc.gov.vn>"
    assert mail[0].message_id == outbox.message_id_for("test:0", sender=notify_settings.smtp_sender)
    assert set(statuses(session).values()) == {"sent"}


def test_sign_in_links_queued_by_the_auth_service_are_delivered(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    session.add(User(email="dau.moi@xa.gov.vn", full_name="Đầu Mối", role=UserRole.FOCAL_POINT))
    session.flush()
    request_login_link(session, email="dau.moi@xa.gov.vn", settings=notify_settings, now=NOW)
    session.commit()

    send(engine, notify_settings, FixedClock(NOW))

    (mail,) = smtp.take()
    assert mail.to == "dau.moi@xa.gov.vn"
    assert "https://dondoc.tuyphuoc.gov.vn/auth/link/" in mail.text()
    row = session.scalars(select(Notification)).one()
    session.refresh(row)
    assert row.status == NotificationStatus.SENT
    assert row.message_id == mail.message_id


def test_a_permanent_refusal_is_failed_and_a_temporary_one_retried(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, notify_settings, 3)
    smtp.refuse["nguoi0@xa.gov.vn"] = "550 5.1.1 No such user"
    smtp.refuse["nguoi1@xa.gov.vn"] = "452 4.2.2 Mailbox full"
    clock = FixedClock(NOW)

    result = send(engine, notify_settings, clock)

    assert (result.sent, result.retrying, result.failed) == (1, 1, 1)
    assert statuses(session) == {"test:0": "failed", "test:1": "pending", "test:2": "sent"}
    failed = session.scalars(select(Notification).where(Notification.dedup_key == "test:0")).one()
    assert "550" in (failed.last_error or "")
    retried = session.scalars(select(Notification).where(Notification.dedup_key == "test:1")).one()
    # First retry after outbox_retry_seconds (60 s).
    assert retried.next_attempt_at == NOW + timedelta(seconds=60)
    assert [m.to for m in smtp.take()] == ["nguoi2@xa.gov.vn"]

    # Not yet due: nothing is sent.
    clock.advance(timedelta(seconds=59))
    assert send(engine, notify_settings, clock).sent == 0
    # The mailbox has room again.
    del smtp.refuse["nguoi1@xa.gov.vn"]
    clock.advance(timedelta(seconds=1))
    assert send(engine, notify_settings, clock).sent == 1
    assert [m.to for m in smtp.take()] == ["nguoi1@xa.gov.vn"]
    assert statuses(session)["test:1"] == "sent"


def test_backoff_doubles_and_gives_up_after_the_last_attempt(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    settings = notify_settings.model_copy(update={"outbox_max_attempts": 3})
    queue(session, settings, 1)
    smtp.refuse["nguoi0@xa.gov.vn"] = "451 4.3.0 Try again later"
    clock = FixedClock(NOW)
    delays = []
    for _ in range(3):
        send(engine, settings, clock)
        session.expire_all()
        row = session.scalars(select(Notification)).one()
        delays.append((row.status.value, row.attempts, row.next_attempt_at - clock()))
        clock.set(row.next_attempt_at)

    assert delays == [
        ("pending", 1, timedelta(seconds=60)),
        ("pending", 2, timedelta(seconds=120)),
        ("failed", 3, timedelta(0)),
    ]


def test_smtp_down_then_back_delivers_everything_once(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, notify_settings, 20)
    smtp.stop()
    clock = FixedClock(NOW)

    down = send(engine, notify_settings, clock)

    assert (down.sent, down.retrying, down.failed) == (0, 20, 0)
    assert set(statuses(session).values()) == {"pending"}
    # Back a while later, on the same port.
    smtp.start()
    clock.advance(timedelta(minutes=5))
    up = send(engine, notify_settings, clock)
    clock.advance(timedelta(hours=2))
    later = send(engine, notify_settings, clock)

    assert (up.sent, later.sent) == (20, 0)
    mail = smtp.take()
    assert sorted(m.to for m in mail) == sorted(f"nguoi{n}@xa.gov.vn" for n in range(20))
    assert set(statuses(session).values()) == {"sent"}


def test_a_crashed_senders_claim_runs_out(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, notify_settings, 2)
    # A sender claimed both, then died before sending.
    outbox.claim(
        session,
        worker="dead",
        now=NOW,
        limit=10,
        lease_seconds=notify_settings.outbox_claim_seconds,
        sender=notify_settings.smtp_sender,
    )
    session.commit()
    clock = FixedClock(NOW + timedelta(seconds=notify_settings.outbox_claim_seconds - 1))

    assert send(engine, notify_settings, clock).sent == 0
    clock.advance(timedelta(seconds=2))
    assert send(engine, notify_settings, clock).sent == 2
    assert len(smtp.take()) == 2


@pytest.mark.postgres
def test_two_senders_at_once_send_each_message_once(
    postgres_database_url: str, tmp_path: Path, smtp: SmtpSink
) -> None:
    settings = Settings(
        environment="test",
        database_url=postgres_database_url,
        data_dir=tmp_path,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_batch_size=10,
    )
    engine = make_engine(postgres_database_url, pool_size=8)
    try:
        with SessionFactory(bind=engine) as session:
            queue(session, settings, 300)
        clock = FixedClock(NOW)
        results: list[jobs.DispatchResult] = []

        def sender() -> None:
            results.append(send(engine, settings, clock))

        threads = [threading.Thread(target=sender) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        mail = smtp.take()
        assert len(mail) == 300
        assert len({m.message_id for m in mail}) == 300
        assert sum(result.sent for result in results) == 300
        # Each sender did part of the work: the claims really ran side by side.
        assert sum(1 for result in results if result.sent) >= 2
    finally:
        engine.dispose()


def test_sqlite_claims_are_atomic_across_connections(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # SQLite has no SKIP LOCKED: one writer at a time makes each claim atomic.
    database_url = f"sqlite:///{tmp_path / 'claims.sqlite3'}"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), tmp_path / "claims.sqlite3")
    notify_settings = Settings(environment="test", database_url=database_url)
    engine = create_engine(database_url)
    try:
        with SessionFactory(bind=engine) as session:
            queue(session, notify_settings, 50)
        taken: list[int] = []
        lock = threading.Lock()

        def claimer(name: str) -> None:
            local = make_engine(database_url)
            try:
                while True:
                    with SessionFactory(bind=local) as session, session.begin():
                        batch = outbox.claim(
                            session,
                            worker=name,
                            now=NOW,
                            limit=3,
                            lease_seconds=300,
                            sender=notify_settings.smtp_sender,
                        )
                    if not batch:
                        return
                    with lock:
                        taken.extend(item.id for item in batch)
            finally:
                local.dispose()

        threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(taken) == list(range(1, 51))
    finally:
        engine.dispose()
