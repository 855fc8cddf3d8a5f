"""Outbox delivery speed: messages per second to a local aiosmtpd sink, against a bare loop.

Run: python bench/dispatch.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                              [--messages 2000] [--repeat 3]

Both sides send the same digest-sized messages (Vietnamese text and HTML) to the same aiosmtpd
sink, running in a process of its own on 127.0.0.1:

- bare: an aiosmtplib loop sending ready-made message bytes, nothing else;
- outbox: `jobs.dispatch` with the default settings, i.e. claim rows (SKIP LOCKED on
  PostgreSQL), build each message and send it, on `smtp_connections` (3) connections side by
  side, as in production; "sent" marks are written while the next messages go out (see
  `jobs._Recorder`).

`--url` is a PostgreSQL server (a throwaway database is made on it) or "sqlite" for a file in a
temporary directory. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
from sqlalchemy import create_engine, delete

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifications import jobs, outbox  # noqa: E402
from notifications.sender import build_message  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.config import Settings  # noqa: E402
from service.database import (  # noqa: E402
    SessionFactory,
    make_engine,
    parse_database_url,
    upgrade_database,
)
from service.models import Notification  # noqa: E402
from tests.notifications.smtp_sink import free_port  # noqa: E402

NOW = datetime(2024, 6, 11, 2, 0, tzinfo=UTC)
SENDER = "dondoc <dondoc@tuyphuoc.gov.vn>"
SUBJECT = (
    "[Nhắc hạn] Báo cáo 6 tháng đầu năm 2024 — Kế hoạch 145/KH-UBND — hạn 10/06/2024 "
    "(còn 3 ngày làm việc)"
)
TEXT = "Kính gửi đồng chí,\n\n" + "- Báo cáo 6 tháng — Kế hoạch 145/KH-UBND — hạn 10/06/2024\n" * 8
HTML = "<p>Kính gửi đồng chí,</p><ul>" + "<li>Báo cáo 6 tháng — hạn 10/06/2024</li>" * 8 + "</ul>"


class Sink:
    """The aiosmtpd sink of tests/notifications/smtp_sink.py, in a child process."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.notifications.smtp_sink", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=10)


async def bare_loop(sink: Sink, count: int) -> float:
    messages = [
        build_message(
            sender=SENDER,
            recipient=f"nguoi{n}@xa.gov.vn",
            subject=SUBJECT,
            body_text=TEXT,
            body_html=HTML,
            message_id=outbox.message_id_for(f"bare:{n}", sender=SENDER),
            now=NOW,
        )
        for n in range(count)
    ]
    start = time.perf_counter()
    async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port) as smtp:
        for message in messages:
            await smtp.sendmail(message.sender, [message.recipient], message.data)
    return count / (time.perf_counter() - start)


def through_outbox(url: str, sink: Sink, count: int, run: int) -> float:
    engine = make_engine(url)
    settings = Settings(
        environment="test",
        database_url=url,
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_sender=SENDER,
    )
    with SessionFactory(bind=engine) as session:
        session.execute(delete(Notification))
        for n in range(count):
            outbox.enqueue(
                session,
                dedup_key=f"bench:{run}:{n}",
                recipient_email=f"nguoi{n}@xa.gov.vn",
                user_id=None,
                kind="bench",
                subject=SUBJECT,
                body_text=TEXT,
                body_html=HTML,
                now=NOW,
                sender=SENDER,
            )
        session.commit()
    start = time.perf_counter()
    result = asyncio.run(jobs.dispatch(engine, settings=settings, clock=FixedClock(NOW)))
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert result.sent == count, result
    return count / elapsed


def database(url: str) -> tuple[str, str | None]:
    if url == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        return f"sqlite:///{path}", None
    name = f"dondoc_bench_{secrets.token_hex(4)}"
    server = create_engine(parse_database_url(url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    return parse_database_url(url).set(database=name).render_as_string(False), name


def drop(url: str, name: str | None) -> None:
    if name is None:
        return
    server = create_engine(parse_database_url(url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    arguments.add_argument("--messages", type=int, default=2000)
    arguments.add_argument("--repeat", type=int, default=3)
    options = arguments.parse_args()

    url, name = database(options.url)
    sink = Sink()
    try:
        upgrade_database(url)
        bare: list[float] = []
        mine: list[float] = []
        # Alternate, so both see the same machine load.
        for run in range(options.repeat):
            bare.append(asyncio.run(bare_loop(sink, options.messages)))
            mine.append(through_outbox(url, sink, options.messages, run))
    finally:
        sink.stop()
        drop(options.url, name)

    backend = "SQLite" if options.url == "sqlite" else "PostgreSQL"
    b, m = statistics.median(bare), statistics.median(mine)
    print("| backend | messages | bare aiosmtplib (msg/s) | outbox dispatch (msg/s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    print(f"| {backend} | {options.messages:,} | {b:.0f} | {m:.0f} | {m / b:.2f} |")


if __name__ == "__main__":
    main()
