"""Many processes, one database: two `dondoc serve` and two `dondoc scheduler` on PostgreSQL.

Focal points update their agency's tasks through both web processes at once, two clients per
agency (one per process) racing on the same tasks with the version each last saw, re-reading
and retrying on 409. Meanwhile the lead office urges every agency through both processes at the
same moment, and focal points ask for sign-in links. Both schedulers sweep and send to a real
SMTP server. Afterwards: every acknowledged update is in the history and no other; each task's
version counts its updates; every e-mail in the outbox was delivered, and delivered once.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from service.database import SessionFactory, make_engine
from service.i18n import t
from service.models import (
    Notification,
    NotificationStatus,
)
from tests.deploy.processes import Dondoc, free_port, serve
from tests.deploy.workload import Agency, FocalPoint, Outcome, World, build, check_history
from tests.notifications.smtp_sink import SmtpSink

pytestmark = pytest.mark.postgres

AGENCIES = 6
TASKS_PER_AGENCY = 2
UPDATES_PER_CLIENT = 8


def focal_point(base: str, agency: Agency, name: str, outcome: Outcome) -> None:
    """UPDATES_PER_CLIENT acknowledged updates, round-robin over the agency's tasks."""
    client = FocalPoint(base, agency, name, outcome)
    try:
        for number in range(UPDATES_PER_CLIENT):
            if not client.update(agency.task_ids[number % len(agency.task_ids)], number):
                return
    finally:
        client.close()


def urge_everyone(base: str, world: World) -> httpx.Response:
    return httpx.post(
        f"{base}/api/notifications/urge",
        json={"plan_id": world.plan_id, "agency_ids": [a.id for a in world.agencies]},
        headers=world.lead_headers,
        timeout=30,
    )


def wait_for_outbox_to_drain(engine: Engine, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with SessionFactory(bind=engine) as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.status.in_(
                        (NotificationStatus.PENDING, NotificationStatus.SENDING)
                    )
                )
            )
        if waiting == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"the outbox still has {waiting} e-mail(s) waiting")


def wait_until_started(scheduler: Dondoc, *, timeout: float = 90) -> None:
    """Until the scheduler logs that it runs: both must be up before the e-mails are queued."""
    started = t("notify.log_started", sweep=15, digest="07:30", dispatch=1)
    deadline = time.monotonic() + timeout
    while started not in scheduler.output:
        if time.monotonic() > deadline:
            raise AssertionError(f"the scheduler did not start:\n{scheduler.output}")
        time.sleep(0.2)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    # Slow enough that the two schedulers' dispatches overlap whatever the timing: the dozen
    # e-mails take over 2 s, so the other scheduler's tick (every second) comes while the first
    # is still draining the outbox and claims the next batch. (0.02 s let one take them all.)
    sink = SmtpSink(delay=0.2).start()
    yield sink
    sink.stop()


def test_two_web_processes_and_two_schedulers_lose_nothing_and_send_once(
    postgres_database_url: str, smtp: SmtpSink, tmp_path: Path
) -> None:
    engine = make_engine(postgres_database_url)
    with SessionFactory(bind=engine) as session:
        world = build(session, agencies=AGENCIES, tasks_per_agency=TASKS_PER_AGENCY)

    settings = {
        "DONDOC_SMTP_HOST": smtp.host,
        "DONDOC_SMTP_PORT": str(smtp.port),
        "DONDOC_DISPATCH_SECONDS": "1",
        "DONDOC_SMTP_BATCH_SIZE": "3",
        "DONDOC_SMTP_CONNECTIONS": "1",
        "DONDOC_PUBLIC_URL": "https://dondoc.xa.gov.vn",
    }
    shared = {"database_url": postgres_database_url, "data_dir": tmp_path / "data"}
    processes: list[Dondoc] = []
    try:
        # Started together: each takes seconds to import and connect.
        ports = [free_port(), free_port()]
        with ThreadPoolExecutor(4) as pool:
            webs = [
                pool.submit(serve, port=port, log=tmp_path / f"web-{i}.log", **shared, **settings)
                for i, port in enumerate(ports)
            ]
            for i in range(2):
                processes.append(
                    Dondoc("scheduler", log=tmp_path / f"scheduler-{i}.log", **shared, **settings)
                )
            servers = [future.result() for future in webs]
        processes.extend(server for server, _ in servers)
        for scheduler in processes[:2]:
            wait_until_started(scheduler)
        bases = [base for _, base in servers]

        outcome = Outcome()
        with ThreadPoolExecutor(2 * AGENCIES + 2 + AGENCIES) as pool:
            futures = [
                pool.submit(focal_point, base, agency, f"a{agency.id}-{side}", outcome)
                for agency in world.agencies
                for side, base in enumerate(bases)
            ]
            # The lead office clicks "đôn đốc" on both processes at the same moment.
            urges = [pool.submit(urge_everyone, base, world) for base in bases]
            links = [
                pool.submit(
                    httpx.post,
                    f"{bases[number % 2]}/api/auth/link",
                    json={"email": agency.focal_email},
                    timeout=30,
                )
                for number, agency in enumerate(world.agencies)
            ]
            for future in futures:
                future.result()
            urge_results = [future.result() for future in urges]
            assert all(future.result().status_code == 202 for future in links)

        wait_for_outbox_to_drain(engine, timeout=30)
    finally:
        for process in processes:
            process.stop()

    # No acknowledged update lost, none invented, none applied twice.
    assert outcome.errors == []
    assert len(outcome.acknowledged) == AGENCIES * 2 * UPDATES_PER_CLIENT
    assert all(outcome.by_server[base] > 0 for base in bases)
    # A 500 means the transaction rolled back: it is "uncertain" only for the client, and must
    # not be in the history (check_history allows it; this test does not).
    outcome.uncertain.clear()
    with SessionFactory(bind=engine) as session:
        check_history(session, outcome)
        notifications = list(session.scalars(select(Notification)))
    engine.dispose()

    # Urged once per focal point, whichever process took the click.
    assert sorted(r.status_code for r in urge_results) == [201, 201]
    queued = [r.json()["queued"] for r in urge_results]
    assert sum(queued) == AGENCIES
    kinds = Counter(n.kind for n in notifications)
    assert kinds["urge"] == AGENCIES
    assert kinds["login_link"] == AGENCIES

    if outcome.server_errors:
        warnings.warn(
            f"{outcome.server_errors} status update(s) answered 500 instead of 409 on a "
            "version race: see the web processes' logs",
            stacklevel=1,
        )

    # Every e-mail in the outbox was delivered exactly once.
    assert {n.status for n in notifications} == {NotificationStatus.SENT}
    received = smtp.take()
    ids = Counter(message.message_id for message in received)
    assert [mid for mid, count in ids.items() if count > 1] == []
    assert set(ids) == {n.message_id for n in notifications}
    assert len(received) == len(notifications)
    # Both schedulers sent some of it (the claim, not luck, kept them apart).
    senders = {n.claimed_by.rsplit(":", 1)[0] for n in notifications if n.claimed_by}
    assert len(senders) == 2, senders
