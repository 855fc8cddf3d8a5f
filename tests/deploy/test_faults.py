"""Faults: PostgreSQL restarted under load, and a full disk for uploads.

The restart test restarts the PostgreSQL server of DONDOC_TEST_DATABASE_URL, which other test
runs on this machine may share: it runs only with DONDOC_FAULT_TESTS=1 (CI), keeps the outage to
the restart itself, and makes sure the server is up when it ends. The restart command is
`pg_ctlcluster --skip-systemctl-redirect <version> main restart` (the local Debian cluster);
DONDOC_FAULT_PG_RESTART overrides it, e.g. to restart a private test server with `pg_ctl`.

The full-disk test mounts a small tmpfs as the data directory when it can (root), and otherwise
makes every write under the data directory fail with ENOSPC.
"""

from __future__ import annotations

import errno
import io
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import SessionFactory, make_engine
from service.i18n import t
from service.models import Notification, NotificationStatus, Plan, StatusUpdate, Task
from tests.deploy.processes import Dondoc, free_port, serve
from tests.deploy.workload import FocalPoint, Outcome, build, check_history
from tests.notifications.smtp_sink import SmtpSink
from tests.tasks import builders

FAULTS_ENV = "DONDOC_FAULT_TESTS"
RESTART_ENV = "DONDOC_FAULT_PG_RESTART"
PLAN_FILE = Path(__file__).parents[1] / "fixtures" / "plans" / "tuy-phuoc-2024.txt"
PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"


# --- PostgreSQL restarted under load ------------------------------------------------------------


def restart_command() -> list[str]:
    custom = os.environ.get(RESTART_ENV)
    if custom:
        return shlex.split(custom)
    version = sorted(os.listdir("/etc/postgresql"))[0]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


def accepting(url: str) -> bool:
    parsed = make_url(url)
    probe = ["pg_isready", "-q", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    return subprocess.run(probe, check=False).returncode == 0


def ensure_up(url: str) -> None:
    """Whatever happened, leave the shared server running."""
    for _ in range(2):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if accepting(url):
                return
            time.sleep(0.5)
        command = restart_command()
        start = [("start" if word == "restart" else word) for word in command]
        subprocess.run(start, check=False, timeout=120)
    raise AssertionError("PostgreSQL is not accepting connections after the restart test")


def heal_session_server_connection(request: pytest.FixtureRequest) -> None:
    """The test session keeps one connection to the server for CREATE/DROP DATABASE; the restart
    killed it. Its first use now fails once and makes the pool reconnect."""
    create = request.getfixturevalue("_create_postgres_database")
    for _ in range(3):
        try:
            create()
            return
        except OperationalError:
            time.sleep(0.5)


@pytest.mark.skipif(
    os.environ.get(FAULTS_ENV) != "1",
    reason=f"restarts the shared PostgreSQL server: set {FAULTS_ENV}=1 (CI does)",
)
def test_the_service_reconnects_after_a_postgresql_restart_and_loses_nothing_acknowledged(
    postgres_database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = make_engine(postgres_database_url)
    with SessionFactory(bind=engine) as session:
        world = build(session, agencies=4, tasks_per_agency=2)
    smtp = SmtpSink().start()
    settings = {
        "DONDOC_SMTP_HOST": smtp.host,
        "DONDOC_SMTP_PORT": str(smtp.port),
        "DONDOC_DISPATCH_SECONDS": "1",
    }
    shared = {"database_url": postgres_database_url, "data_dir": tmp_path / "data"}
    processes: list[Dondoc] = []
    outcome = Outcome()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        processes.append(Dondoc("scheduler", log=tmp_path / "scheduler.log", **shared, **settings))
        web, base = serve(port=free_port(), log=tmp_path / "web.log", **shared, **settings)
        processes.append(web)

        def keep_updating(agency_index: int) -> None:
            agency = world.agencies[agency_index]
            client = FocalPoint(base, agency, f"a{agency.id}", outcome)
            number = 0
            try:
                while not stop.is_set():
                    task_id = agency.task_ids[number % len(agency.task_ids)]
                    client.update(task_id, number, patient=True)
                    number += 1
            finally:
                client.close()

        threads = [
            threading.Thread(target=keep_updating, args=(i,), daemon=True)
            for i in range(len(world.agencies))
        ]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(outcome.acknowledged) >= 20, timeout=30, what="updates before")

        restarted_at = time.monotonic()
        subprocess.run(restart_command(), check=True, timeout=120, capture_output=True)
        back_at = time.monotonic()
        before = sum(1 for at in outcome.acknowledged_at if at < restarted_at)

        # Served again: more updates go through after the restart.
        wait_for(
            lambda: sum(1 for at in outcome.acknowledged_at if at > back_at) >= 20,
            timeout=60,
            what="updates after the restart",
        )
        # And the scheduler, on its own connections, still sends what the web queues.
        for agency in world.agencies:
            asked = httpx.post(
                f"{base}/api/auth/link", json={"email": agency.focal_email}, timeout=10
            )
            assert asked.status_code == 202
        wait_for(
            lambda: world_links_sent(engine) == len(world.agencies), timeout=60, what="e-mails"
        )
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        assert web.process.poll() is None, "the web process died"
        assert processes[0].process.poll() is None, "the scheduler died"
    finally:
        stop.set()
        for process in processes:
            process.stop()
        smtp.stop()
        ensure_up(postgres_database_url)
        heal_session_server_connection(request)

    assert outcome.errors == []
    assert before >= 20
    with SessionFactory(bind=engine) as session:
        check_history(session, outcome)
        links = session.scalars(
            select(Notification.recipient_email).where(Notification.kind == "login_link")
        ).all()
    engine.dispose()
    assert sorted(links) == sorted(a.focal_email for a in world.agencies)
    assert {a.focal_email for a in world.agencies} <= {m.to for m in smtp.received}


def world_links_sent(engine: Engine) -> int:
    with SessionFactory(bind=engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.kind == "login_link",
                    Notification.status == NotificationStatus.SENT,
                )
            )
            or 0
        )


def wait_for(condition: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- A full disk --------------------------------------------------------------------------------


class _FullFile(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, _data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _write_failure(out: Any) -> int | None:
    """Write a page; the errno if that failed (ENOSPC, once the disk is full)."""
    try:
        out.write(b"\0" * 4096)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        return error.errno
    return None


class FullDisk:
    """The data directory on a disk with no space left; `free()` makes room again."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.monkeypatch = monkeypatch
        self.mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        self.filler = path / "filler"

    def fill(self) -> None:
        if self.mounted:
            with self.filler.open("wb", buffering=0) as out:
                while _write_failure(out) is None:
                    pass
            return
        real_open = Path.open
        root = self.path.resolve()

        def full_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(flag in mode for flag in "wxa") and path.resolve().is_relative_to(root):
                real_open(path, mode, *args, **kwargs).close()  # created, as on a real disk
                return io.BufferedWriter(_FullFile())
            return real_open(path, mode, *args, **kwargs)

        self.monkeypatch.setattr(Path, "open", full_open)

    def free(self) -> None:
        if self.mounted:
            self.filler.unlink()
        else:
            self.monkeypatch.undo()

    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.path).as_posix()
            for p in self.path.rglob("*")
            if p.is_file() and p != self.filler
        )

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.path)], check=False)


@pytest.fixture
def full_disk(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FullDisk]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    disk = FullDisk(settings.data_dir, monkeypatch)
    try:
        yield disk
    finally:
        disk.unmount()


def test_a_full_disk_refuses_uploads_clearly_and_writes_nothing(
    full_disk: FullDisk, client: TestClient, session: Session
) -> None:
    world = builders.build_world(session)
    full_disk.fill()

    def upload_evidence() -> httpx.Response:
        return client.post(
            f"/api/tasks/{world.health_task.id}/updates",
            data={"version": "1", "state": "dang_thuc_hien", "progress": "30"},
            files=[("files", ("Biên bản.pdf", PDF, "application/pdf"))],
            headers=world.headers["health"],
        )

    evidence = upload_evidence()
    assert evidence.status_code == 507
    assert evidence.json()["error"]["code"] == "evidence.disk_full"
    assert evidence.json()["error"]["message"] == t("evidence.disk_full")

    plan = client.post(
        "/api/plans/imports",
        files={"file": (PLAN_FILE.name, PLAN_FILE.read_bytes(), "text/plain")},
        headers=world.headers["lead"],
    )
    assert plan.status_code == 507
    assert plan.json()["error"]["code"] == "storage.disk_full"
    assert plan.json()["error"]["message"] == t("storage.disk_full")

    # Nothing written: no update, the task unchanged, no new plan, no partial file left behind.
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(StatusUpdate)) == 0
    assert session.get(Task, world.health_task.id).version == 1  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Plan)) == 2
    assert full_disk.files() == []

    # Room again: the same upload goes through, without restarting anything.
    full_disk.free()
    again = upload_evidence()
    assert again.status_code == 201, again.text
    assert len(full_disk.files()) == 1
