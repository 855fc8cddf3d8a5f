"""The scheduler process: `dondoc scheduler --once`, the long-running loop, and a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notifications import outbox
from notifications.scheduler import Runner, build_scheduler, serve
from service.clock import FixedClock
from service.config import Settings
from service.database import dispose_engines
from service.main import create_app
from service.models import Notification, NotificationStatus
from tests.notifications.smtp_sink import SmtpSink

REPO = Path(__file__).parents[2]


def queue(session: Session, count: int, *, sender: str = "dondoc <dondoc@localhost>") -> None:
    now = datetime.now(UTC)
    for number in range(count):
        outbox.enqueue(
            session,
            dedup_key=f"test:{number}",
            recipient_email=f"nguoi{number}@xa.gov.vn",
            user_id=None,
            kind="test",
            subject=f"Thư số {number}",
            body_text=f"Nội dung thư số {number}.",
            body_html=None,
            now=now,
            sender=sender,
        )
    session.commit()


def dondoc(
    *args: str, database_url: str, smtp: SmtpSink, cwd: Path, **env: str
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "DONDOC_ENVIRONMENT": "test",
        "DONDOC_DATABASE_URL": database_url,
        "DONDOC_DATA_DIR": str(cwd / "data"),
        "DONDOC_SMTP_HOST": smtp.host,
        "DONDOC_SMTP_PORT": str(smtp.port),
        "PYTHONPATH": str(REPO),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "service", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_once_sends_what_is_queued_and_says_so(
    database_url: str, session: Session, smtp: SmtpSink, tmp_path: Path
) -> None:
    queue(session, 3)

    process = dondoc("scheduler", "--once", database_url=database_url, smtp=smtp, cwd=tmp_path)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    assert out.strip() == (
        "Đã quét: 0 nhắc việc mới, 0 thư tổng hợp, 0 thư khẩn, 0 nhắc việc bỏ qua. "
        "Đã gửi 3 thư, 0 thư chờ gửi lại, 0 thư gửi không được."
    )
    assert sorted(m.subject for m in smtp.take()) == ["Thư số 0", "Thư số 1", "Thư số 2"]


def test_once_with_the_database_down_is_a_clear_error(smtp: SmtpSink, tmp_path: Path) -> None:
    process = dondoc(
        "scheduler",
        "--once",
        database_url="postgresql+psycopg://dondoc@127.0.0.1:1/dondoc",
        smtp=smtp,
        cwd=tmp_path,
    )
    out, err = process.communicate(timeout=60)

    assert process.returncode == 1
    assert err.startswith("Lỗi: Lỗi cơ sở dữ liệu:")
    assert "Traceback" not in err


def test_killed_mid_dispatch_and_restarted_nothing_is_lost(
    database_url: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    slow = SmtpSink(delay=0.2).start()
    try:
        queue(session, 30)
        # Claims run out after a second, so the restart takes over at once.
        settings = {"DONDOC_OUTBOX_CLAIM_SECONDS": "1"}
        first = dondoc(
            "scheduler", "--once", database_url=database_url, smtp=slow, cwd=tmp_path, **settings
        )
        deadline = time.monotonic() + 60
        while len(slow.received) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        before_restart = len(slow.received)
        assert 5 <= before_restart < 30

        time.sleep(1.5)
        slow.delay = 0
        second = dondoc(
            "scheduler", "--once", database_url=database_url, smtp=slow, cwd=tmp_path, **settings
        )
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err

        mail = slow.take()
        expected = {
            outbox.message_id_for(f"test:{n}", sender="dondoc <dondoc@localhost>")
            for n in range(30)
        }
        assert {m.message_id for m in mail} == expected
        # Only e-mails sent but not yet marked when the process died can arrive twice: at most
        # two per SMTP connection (smtp_connections, 3), with the same Message-ID so mail
        # clients fold the copies. At-least-once, never lost.
        assert len(mail) - len(expected) <= 6
        session.expire_all()
        assert {row.status for row in session.scalars(select(Notification))} == {
            NotificationStatus.SENT
        }
    finally:
        slow.stop()


def test_the_jobs_follow_the_settings(engine: Engine, settings: Settings) -> None:
    settings = settings.model_copy(
        update={"sweep_minutes": 5, "digest_time": "06:45", "dispatch_seconds": 30}
    )
    runner = Runner(engine, settings=settings, clock=FixedClock(datetime(2024, 6, 10, tzinfo=UTC)))

    async def jobs() -> dict[str, object]:
        scheduler = build_scheduler(runner)
        return {job.id: job.trigger for job in scheduler.get_jobs()}

    triggers = asyncio.run(jobs())

    assert set(triggers) == {"sweep", "digest", "dispatch"}
    sweep, digest, dispatch = triggers["sweep"], triggers["digest"], triggers["dispatch"]
    assert isinstance(sweep, IntervalTrigger)
    assert sweep.interval.total_seconds() == 300
    assert isinstance(dispatch, IntervalTrigger)
    assert dispatch.interval.total_seconds() == 30
    assert isinstance(digest, CronTrigger)
    assert str(digest.timezone) == "Asia/Ho_Chi_Minh"
    fields = {field.name: str(field) for field in digest.fields}
    assert (fields["hour"], fields["minute"]) == ("6", "45")


def test_the_scheduler_sweeps_at_start_and_stops_on_request(
    engine: Engine, session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, 2, sender=notify_settings.smtp_sender)

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(notify_settings, stop=stop, engine=engine))
        deadline = time.monotonic() + 20
        while len(smtp.received) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=20)

    asyncio.run(run())

    assert sorted(m.subject for m in smtp.take()) == ["Thư số 0", "Thư số 1"]


def test_the_scheduler_runs_inside_the_web_process_when_asked(
    session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, 1, sender=notify_settings.smtp_sender)
    settings = notify_settings.model_copy(update={"scheduler_in_serve": True})

    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 20
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.05)
    dispose_engines()

    assert [m.subject for m in smtp.take()] == ["Thư số 0"]


def test_the_web_process_sends_nothing_by_default(
    session: Session, notify_settings: Settings, smtp: SmtpSink
) -> None:
    queue(session, 1, sender=notify_settings.smtp_sender)

    with TestClient(create_app(notify_settings)) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(1)
    dispose_engines()

    assert smtp.take() == []
