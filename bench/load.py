"""Load: focal points using dondoc over loopback for minutes, against PostgreSQL.

Run: DONDOC_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
         python bench/load.py [--users 200] [--minutes 5] [--think 5] [--web 2] [--append FILE]

1. Creates a throwaway database next to the one in DONDOC_TEST_DATABASE_URL, migrates it with
   `dondoc db upgrade` and seeds one lead office and `--users` communes, each with a focal point
   (an API token), `--tasks` tasks spread over 10 active plans, and 3 report deadlines per plan.
2. Starts `--web` `dondoc serve` processes (the image's command, production settings, JSON logs
   to files) and spreads the focal points over them.
3. Each focal point, after a random think time (exponential, mean `--think` seconds), does one
   of: view a page (its task list as HTML, a task page, its API task list, its reports: 60 %),
   update a task's status with the version it last saw (30 %; on 409 it reads and retries), or
   submit one of its agency's reports (10 %). A warm-up of 15 s is not measured.
4. Reports throughput, p50 / p95 / p99 per kind, the error rate (5xx, unexpected 4xx, dropped
   connections), each web process's resident memory sampled every 10 s, and checks that every
   acknowledged update and submission is in the database. Prints a Markdown section (appended
   to FILE with --append) and drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from service.auth.service import create_api_token
from service.database import SessionFactory, make_engine, parse_database_url
from service.models import ObligationStatus, ReportObligation, StatusUpdate, Task, User, UserRole

URL_ENV = "DONDOC_TEST_DATABASE_URL"
PLANS = 10
DEADLINES_PER_PLAN = 3
WARMUP_SECONDS = 15
RSS_EVERY_SECONDS = 10
# uvicorn closes a keep-alive connection idle for 5 s: a client opens a new one after 4 s.
IDLE_SECONDS = 4.0
MIX = (("view", 0.6), ("update", 0.3), ("submit", 0.1))


# --- Database -----------------------------------------------------------------------------------


def create_database(server_url: str) -> tuple[str, str]:
    given = parse_database_url(server_url)
    name = f"dondoc_load_{secrets.token_hex(4)}"
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False), name


def drop_database(server_url: str, name: str) -> None:
    given = parse_database_url(server_url)
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


SEED = [
    # Agency 1 leads every plan; agencies 2..users+1 are the communes.
    """INSERT INTO agencies (name, level, kind, is_group, is_active, created_at)
       SELECT CASE WHEN g = 1 THEN 'Phòng Lao động - Thương binh và Xã hội'
                   ELSE 'UBND xã Thử nghiệm ' || g END,
              CASE WHEN g = 1 THEN 'district' ELSE 'commune' END, 'department', false, true,
              now()
       FROM generate_series(1, :users + 1) AS g""",
    """INSERT INTO plans (title, status, lead_agency_id, source_filename, source_format,
                          source_sha256, extraction, warnings, created_at, activated_at)
       SELECT 'Kế hoạch thử nghiệm số ' || g, 'active', 1, 'ke-hoach-' || g || '.txt', 'txt',
              md5(g::text) || md5((g + 1)::text), '{}'::jsonb, '[]'::jsonb, now(), now()
       FROM generate_series(1, :plans) AS g""",
    """INSERT INTO assignments (plan_id, ordinal, heading, is_request, is_lead, position)
       SELECT id, '1', 'UBND các xã, thị trấn', false, false, 0 FROM plans""",
    """INSERT INTO tasks (plan_id, assignment_id, agency_id, text, role, co_agencies, due_on,
                          state, progress, version, created_at, updated_at)
       SELECT 1 + t % :plans, 1 + t % :plans, a,
              'Nhiệm vụ số ' || t || ': tuyên truyền, rà soát, tổng hợp kết quả thực hiện',
              'thuc_hien', '[]'::jsonb, current_date + (t % 120), 'chua_trien_khai', 0, 1,
              now(), now()
       FROM generate_series(2, :users + 1) AS a, generate_series(1, :tasks) AS t""",
    """INSERT INTO report_deadlines (plan_id, kind, label, due_on, source)
       SELECT p, 'monthly', 'Báo cáo tháng ' || d || ' năm 2025', current_date + 30 * d, 'plan'
       FROM generate_series(1, :plans) AS p, generate_series(1, :deadlines) AS d""",
    """INSERT INTO report_obligations (deadline_id, agency_id, due_on, status, version,
                                       created_at, updated_at)
       SELECT d.id, a, d.due_on, 'pending', 1, now(), now()
       FROM report_deadlines AS d, generate_series(2, :users + 1) AS a""",
]


@dataclass
class Person:
    user_id: int
    token: str
    tasks: list[int]
    obligations: list[int]
    versions: dict[int, int] = field(default_factory=dict)


def seed(url: str, *, users: int, tasks: int) -> list[Person]:
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in SEED:
            connection.execute(
                text(statement),
                {"users": users, "tasks": tasks, "plans": PLANS, "deadlines": DEADLINES_PER_PLAN},
            )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    people: list[Person] = []
    with SessionFactory(bind=engine) as session:
        for number in range(users):
            agency_id = 2 + number
            user = User(
                email=f"dau-moi-{number}@xa.gov.vn",
                full_name=f"Đầu mối xã {number}",
                role=UserRole.FOCAL_POINT,
                agency_id=agency_id,
            )
            session.add(user)
            session.flush()
            people.append(
                Person(
                    user_id=user.id,
                    token=create_api_token(session, user=user, name="load"),
                    tasks=list(session.scalars(select(Task.id).where(Task.agency_id == agency_id))),
                    obligations=list(
                        session.scalars(
                            select(ReportObligation.id).where(
                                ReportObligation.agency_id == agency_id
                            )
                        )
                    ),
                )
            )
        session.commit()
    engine.dispose()
    return people


# --- The service --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dondoc() -> list[str]:
    script = Path(sys.executable).with_name("dondoc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "service"]


def environment(url: str, data_dir: Path, pool: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DONDOC_")},
        "DONDOC_DATABASE_URL": url,
        "DONDOC_DATA_DIR": str(data_dir),
        "DONDOC_DATABASE_POOL_SIZE": str(pool),
        "DONDOC_ENVIRONMENT": "production",
        "DONDOC_SECRET_KEY": secrets.token_hex(32),
        "DONDOC_PUBLIC_URL": "http://127.0.0.1",
        # Sign-in limits do not apply to API tokens; nothing here signs in.
    }


Server = tuple[subprocess.Popen[bytes], int]


def start_web(url: str, *, count: int, pool: int, workdir: Path) -> list[Server]:
    upgrade = subprocess.run(
        [*dondoc(), "db", "upgrade"], env=environment(url, workdir, pool), capture_output=True
    )
    if upgrade.returncode != 0:
        raise SystemExit(upgrade.stderr.decode())
    servers = []
    for number in range(count):
        port = free_port()
        log = (workdir / f"web-{number}.log").open("wb")
        process = subprocess.Popen(
            [*dondoc(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment(url, workdir, pool),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        servers.append((process, port))
    deadline = time.monotonic() + 120
    for process, port in servers:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"dondoc serve exited: see {workdir}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                    probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if b" 200 " in probe.recv(100):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("dondoc serve did not become ready in 120 s")
            time.sleep(0.3)
    return servers


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- A small HTTP/1.1 keep-alive client ---------------------------------------------------------


class _StaleConnection(Exception):
    """The server had closed the connection before this request reached it."""


class Connection:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used_at = 0.0

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """(status, body), or (0, b"") when the connection failed.

        Like a browser: an idle connection the server may already have closed (uvicorn keeps
        one for 5 s) is replaced before use, and a reused connection that turns out closed
        before any byte of the answer came back is reopened and the request sent again.
        """
        if self.writer is not None and time.monotonic() - self.used_at > IDLE_SECONDS:
            self.close()
        for attempt in range(2):
            reused = self.writer is not None
            try:
                return await self._request(method, path, body)
            except _StaleConnection:
                self.close()
                if not reused or attempt:
                    return 0, b""
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                self.close()
                return 0, b""
        return 0, b""

    async def _request(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise _StaleConnection
        self.used_at = time.monotonic()
        status = int(status_line.split()[1])
        length, chunked, closing = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                closing = True
        if chunked:
            parts = []
            while size := int((await self.reader.readline()).strip(), 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            content = b"".join(parts)
        else:
            content = await self.reader.readexactly(length)
        if closing:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --- The focal points ---------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)
    # Acknowledged writes, warm-up included: all of them must be in the database afterwards.
    updates_acknowledged: int = 0
    submissions_acknowledged: int = 0
    conflicts: int = 0
    measuring: bool = False

    def record(self, kind: str, status: int, took: float, expected: tuple[int, ...]) -> None:
        if not self.measuring:
            return
        self.latencies[kind].append(took)
        self.statuses[kind][status] += 1
        if status not in expected and len(self.errors) < 20:
            self.errors.append(f"{kind}: HTTP {status}")


async def focal_point(
    person: Person, port: int, stats: Stats, *, stop_at: float, think: float, rng: random.Random
) -> None:
    connection = Connection(port, person.token)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    views = [
        ("page: my tasks", "/tasks"),
        ("page: a task", "/tasks/{task}"),
        ("api: my tasks", "/api/tasks?mine=true&limit=25"),
        ("api: my reports", "/api/obligations?limit=25"),
    ]
    try:
        # Spread the first requests over the first think time, as people arrive.
        await asyncio.sleep(rng.uniform(0, think))
        while time.monotonic() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            if kind == "view" or (kind == "submit" and not person.obligations):
                name, path = rng.choice(views)
                path = path.replace("{task}", str(rng.choice(person.tasks)))
                started = time.monotonic()
                status, _ = await connection.request("GET", path)
                stats.record(name, status, time.monotonic() - started, (200,))
            elif kind == "update":
                await update_task(connection, person, stats, rng)
            else:
                obligation = person.obligations.pop()
                started = time.monotonic()
                status, _ = await connection.request(
                    "POST",
                    f"/api/obligations/{obligation}/submit",
                    {"version": 1, "narrative": "Báo cáo kết quả thực hiện trong kỳ."},
                )
                stats.record("report submission", status, time.monotonic() - started, (200,))
                if status == 200:
                    stats.submissions_acknowledged += 1
            await asyncio.sleep(rng.expovariate(1 / think))
    finally:
        connection.close()


async def update_task(
    connection: Connection, person: Person, stats: Stats, rng: random.Random
) -> None:
    task = rng.choice(person.tasks)
    for _attempt in range(5):
        version = person.versions.get(task, 1)
        started = time.monotonic()
        status, body = await connection.request(
            "POST",
            f"/api/tasks/{task}/updates",
            {
                "version": version,
                "state": "dang_thuc_hien",
                "progress": rng.randint(1, 99),
                "narrative": "Đã triển khai tại các thôn, tổ dân phố.",
            },
        )
        stats.record("status update", status, time.monotonic() - started, (201, 409))
        if status == 201:
            person.versions[task] = json.loads(body)["task"]["version"]
            stats.updates_acknowledged += 1
            return
        if status != 409:
            return
        stats.conflicts += 1
        person.versions[task] = json.loads(body)["error"]["details"]["task"]["version"]


async def run_load(
    people: list[Person],
    ports: list[int],
    *,
    seconds: float,
    think: float,
    pids: list[int],
) -> tuple[Stats, list[tuple[float, list[float]]], float]:
    stats = Stats()
    rss: list[tuple[float, list[float]]] = []
    start = time.monotonic()
    measure_from = start + WARMUP_SECONDS
    stop_at = measure_from + seconds

    async def sample_memory() -> None:
        while time.monotonic() < stop_at:
            if time.monotonic() >= measure_from:
                rss.append((time.monotonic() - measure_from, [rss_mb(pid) for pid in pids]))
            await asyncio.sleep(RSS_EVERY_SECONDS)

    async def start_measuring() -> None:
        await asyncio.sleep(WARMUP_SECONDS)
        stats.measuring = True

    await asyncio.gather(
        sample_memory(),
        start_measuring(),
        *(
            focal_point(
                person,
                ports[number % len(ports)],
                stats,
                stop_at=stop_at,
                think=think,
                rng=random.Random(number),
            )
            for number, person in enumerate(people)
        ),
    )
    rss.append((time.monotonic() - measure_from, [rss_mb(pid) for pid in pids]))
    return stats, rss, time.monotonic() - measure_from


# --- Report -------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def load_average() -> float:
    return os.getloadavg()[0]


def report(
    args: argparse.Namespace,
    stats: Stats,
    rss: list[tuple[float, list[float]]],
    seconds: float,
    check: dict[str, Any],
    load_before: float,
) -> str:
    total = sum(len(v) for v in stats.latencies.values())
    expected = {"status update": (201, 409), "report submission": (200,)}
    errors = sum(
        count
        for kind, statuses in stats.statuses.items()
        for status, count in statuses.items()
        if status not in expected.get(kind, (200,))
    )
    every = [took for values in stats.latencies.values() for took in values]
    p50, p95, p99 = (percentile(every, q) * 1000 for q in (0.5, 0.95, 0.99))
    title = f"{args.users} focal points for {args.minutes:g} min"
    lines = [
        f"## Load: {title} (`bench/load.py`, PostgreSQL)",
        "",
        f"Command: `{' '.join(['python', 'bench/load.py', *sys.argv[1:]])}` — "
        f"{date.today().isoformat()}, PostgreSQL, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs with a load average of {load_before:.1f} when it started "
        f"(shared with other work). {args.web} `dondoc serve` processes (production settings, "
        f"pool {args.pool}), {args.users} focal points over keep-alive HTTP/1.1 on loopback, "
        f"think time exponential with mean {args.think:g} s; each action is a page view (60 %), "
        f"a status update (30 %, retried on 409) or a report submission (10 %). "
        f"{args.tasks} tasks and {PLANS * DEADLINES_PER_PLAN} reports per commune. Measured "
        f"{seconds:.0f} s after a {WARMUP_SECONDS} s warm-up.",
        "",
        f"Throughput **{total / seconds:.1f} requests/s**, p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, p99 {p99:.0f} ms; "
        f"**errors {errors} of {total} ({100 * errors / max(total, 1):.2f} %)**; "
        f"{stats.conflicts} version conflicts (409, retried).",
        "",
        "| Action | Requests | Per second | p50 | p95 | p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in sorted(stats.latencies):
        values = stats.latencies[kind]
        lines.append(
            f"| {kind} | {len(values)} | {len(values) / seconds:.1f} | "
            f"{percentile(values, 0.5) * 1000:.0f} ms | {percentile(values, 0.95) * 1000:.0f} ms | "
            f"{percentile(values, 0.99) * 1000:.0f} ms |"
        )
    lines += ["", "Resident memory of each web process (MB):", ""]
    header = "| Time | " + " | ".join(f"web {n + 1}" for n in range(args.web)) + " |"
    lines += [header, "|" + " ---: |" * (args.web + 1)]
    step = max(1, len(rss) // 10)
    shown = sorted({*range(0, len(rss), step), len(rss) - 1})
    for at, values in (rss[index] for index in shown):
        lines.append(f"| {at:.0f} s | " + " | ".join(f"{v:.0f}" for v in values) + " |")
    first, last = rss[0][1], rss[-1][1]
    growth = [(b - a) / max(seconds / 60, 1e-9) for a, b in zip(first, last, strict=True)]
    lines += [
        "",
        "Memory growth over the run: "
        + ", ".join(f"web {n + 1} {g:+.1f} MB/min" for n, g in enumerate(growth))
        + ".",
        "",
        f"Writes acknowledged during the whole run (warm-up included) and found in the "
        f"database afterwards: {stats.updates_acknowledged} status updates → {check['updates']} "
        f"rows, {stats.submissions_acknowledged} report submissions → {check['submitted']} "
        "submitted reports.",
    ]
    if stats.errors:
        lines += ["", "First errors: " + "; ".join(stats.errors[:10]) + "."]
    return "\n".join(lines) + "\n"


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--think", type=float, default=5.0, help="mean think time, seconds")
    parser.add_argument("--web", type=int, default=2, help="dondoc serve processes")
    parser.add_argument("--pool", type=int, default=10, help="database connections per process")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per commune")
    parser.add_argument("--append", type=Path, help="append the Markdown section to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    server = os.environ.get(URL_ENV)
    if not server:
        raise SystemExit(f"set {URL_ENV} to a PostgreSQL server URL")
    load_before = load_average()
    url, name = create_database(server)
    workdir = Path(tempfile.mkdtemp(prefix="dondoc-load-"))
    servers: list[Server] = []
    try:
        servers = start_web(url, count=args.web, pool=args.pool, workdir=workdir)
        people = seed(url, users=args.users, tasks=args.tasks)
        print(f"seeded; {args.web} web processes ready; logs in {workdir}", file=sys.stderr)
        stats, rss, seconds = asyncio.run(
            run_load(
                people,
                [port for _, port in servers],
                seconds=args.minutes * 60,
                think=args.think,
                pids=[process.pid for process, _ in servers],
            )
        )
        engine = make_engine(url)
        with SessionFactory(bind=engine) as session:
            check = {
                "updates": session.scalar(select(func.count()).select_from(StatusUpdate)),
                "submitted": session.scalar(
                    select(func.count())
                    .select_from(ReportObligation)
                    .where(ReportObligation.status == ObligationStatus.SUBMITTED)
                ),
            }
        engine.dispose()
        section = report(args, stats, rss, seconds, check, load_before)
        print(section)
        if args.append:
            with args.append.open("a", encoding="utf-8") as out:
                out.write("\n" + section)
    finally:
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
        for process, _ in servers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.keep:
            drop_database(server, name)


if __name__ == "__main__":
    main()
