"""Status updates over HTTP, and a focal point's task list, on PostgreSQL with 1,000,000 tasks.

Run: DONDOC_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
         python bench/updates.py [--clients 50] [--seconds 20] [--rate 300] [--tasks 1000000]
         [--workers 2]

1. Creates a throwaway database next to the one in DONDOC_TEST_DATABASE_URL, migrates it, and
   seeds agencies, plans and `--tasks` tasks with INSERT ... SELECT generate_series, one focal
   point (with an API token) for each of `--clients` agencies.
2. Starts the real app (`dondoc serve --workers`) on 127.0.0.1 and lets `--clients` concurrent
   clients post status updates (`POST /api/tasks/{id}/updates`, JSON) to their own agency's
   tasks for `--seconds`: updates/s, p50/p95/p99 latency, errors; first as fast as the app
   answers (the most it carries), then at `--rate` updates/s on a fixed schedule (the latency
   at that rate). The clients are plain asyncio HTTP/1.1 keep-alive connections, so the load
   generator takes little of the CPU it shares with the app.
3. Does the same work directly through SQLAlchemy (load the task, update it, insert the status
   update and the audit row, commit) with the same number of threads: the ratio shows what
   HTTP, authentication, authorization and validation cost on top of the database work.
4. Times a focal point's task list (`GET /api/tasks?mine=true`), and a few other lists.
5. Drops the database (unless --keep) and prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url

from service.auth.service import create_api_token
from service.clock import system_clock
from service.config import Settings
from service.database import SessionFactory, make_engine, parse_database_url, upgrade_database
from service.models import AuditLog, StatusUpdate, Task, TaskState, User, UserRole
from service.pagination import PageParams
from service.tasks import service as task_service
from service.tasks.schemas import TaskFilters

URL_ENV = "DONDOC_TEST_DATABASE_URL"
AGENCIES = 1000
PLANS = 200
TASKS_PER_CLIENT = 20  # each client cycles over this many of its agency's tasks


# --- Database -----------------------------------------------------------------------------------


def create_database(server_url: str) -> tuple[str, str]:
    """A new empty database on the server: (its URL, its name)."""
    given = parse_database_url(server_url)
    name = f"dondoc_bench_{secrets.token_hex(4)}"
    for candidate in (given, given.set(database="postgres")):
        admin = create_engine(candidate, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            break
        except Exception:
            if candidate.database == "postgres":
                raise
        finally:
            admin.dispose()
    url = given.set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_database(server_url: str, name: str) -> None:
    given = parse_database_url(server_url)
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


SEED = [
    # Agency 1 is the lead office of every plan; 2..AGENCIES are the agencies doing the tasks.
    """INSERT INTO agencies (name, level, kind, is_group, is_active, created_at)
       SELECT 'Cơ quan thử nghiệm ' || g, 'commune', 'department', false, true, now()
       FROM generate_series(1, :agencies) AS g""",
    """INSERT INTO plans (title, status, lead_agency_id, source_filename, source_format,
                          source_sha256, extraction, warnings, created_at, activated_at)
       SELECT 'Kế hoạch thử nghiệm số ' || g, 'active', 1, 'ke-hoach-' || g || '.txt', 'txt',
              md5(g::text) || md5((g + 1)::text), '{}'::jsonb, '[]'::jsonb, now(), now()
       FROM generate_series(1, :plans) AS g""",
    """INSERT INTO assignments (plan_id, ordinal, heading, is_request, is_lead, position)
       SELECT id, '1', 'Các cơ quan, đơn vị', false, false, 0 FROM plans""",
    # Tasks spread over every agency but the lead, every plan, due dates over two years and all
    # four work states (a done task has its completion date).
    """INSERT INTO tasks (plan_id, assignment_id, agency_id, text, role, co_agencies, due_on,
                          state, progress, blocked_reason, completed_on, version, created_at,
                          updated_at)
       SELECT 1 + g % :plans, 1 + g % :plans, 2 + (g / :plans) % (:agencies - 1),
              'Nhiệm vụ thử nghiệm số ' || g || ': tuyên truyền, rà soát, tổng hợp báo cáo',
              'chu_tri', '[]'::jsonb,
              CASE WHEN g % 10 = 0 THEN NULL ELSE date '2025-01-01' + (g % 730) END,
              (ARRAY['chua_trien_khai', 'dang_thuc_hien', 'hoan_thanh',
                     'gap_vuong_mac'])[1 + g % 4],
              (ARRAY[0, 50, 100, 30])[1 + g % 4],
              CASE WHEN g % 4 = 3 THEN 'Thiếu kinh phí' END,
              CASE WHEN g % 4 = 2 THEN date '2025-01-01' + (g % 700) END,
              1, now(), now()
       FROM generate_series(0, :tasks - 1) AS g""",
]


def seed(url: str, *, tasks: int, clients: int) -> dict[str, Any]:
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for statement in SEED:
            connection.execute(
                text(statement), {"agencies": AGENCIES, "plans": PLANS, "tasks": tasks}
            )
    seeded = time.perf_counter() - started
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    people: list[dict[str, Any]] = []
    with SessionFactory(bind=engine) as session:
        lead = User(
            email="lead@bench.vn",
            full_name="Văn phòng thường trực",
            role=UserRole.LEAD_OFFICE,
            agency_id=1,
        )
        session.add(lead)
        session.flush()
        lead_token = create_api_token(session, user=lead, name="bench")
        for n in range(clients):
            agency_id = 2 + n
            user = User(
                email=f"dau-moi-{n}@bench.vn",
                full_name=f"Đầu mối {n}",
                role=UserRole.FOCAL_POINT,
                agency_id=agency_id,
            )
            session.add(user)
            session.flush()
            task_ids = session.scalars(
                select(Task.id)
                .where(Task.agency_id == agency_id)
                .order_by(Task.id)
                .limit(TASKS_PER_CLIENT)
            ).all()
            people.append(
                {
                    "user_id": user.id,
                    "token": create_api_token(session, user=user, name="bench"),
                    "tasks": list(task_ids),
                }
            )
        session.commit()
        per_agency = session.scalar(text("SELECT count(*) FROM tasks WHERE agency_id = 2"))
    engine.dispose()
    return {
        "seconds": seeded,
        "people": people,
        "lead_token": lead_token,
        "tasks_per_agency": per_agency,
    }


# --- The app ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_app(
    url: str, *, port: int, workers: int, pool: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DONDOC_DATABASE_URL": url,
        "DONDOC_DATABASE_POOL_SIZE": str(pool),
        "DONDOC_ENVIRONMENT": "production",
        "DONDOC_SECRET_KEY": secrets.token_hex(32),
        "DONDOC_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    # As deployed: `dondoc serve` (uvicorn with uvloop and httptools, no uvicorn access log), its
    # JSON request log (one line per request, on stderr) written to `log`.
    command = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise SystemExit(f"the app did not start within 30 s (its log: {log.name})")
    # The port opens before the workers have imported the app: wait until they sit idle, so
    # their start-up is neither timed nor counted as the updates' CPU.
    used = -1.0
    while time.monotonic() < deadline + 60:
        time.sleep(1)
        now_used = cpu_seconds(process.pid, "")[0]
        if now_used - used < 0.05:
            return process
        used = now_used
    process.kill()
    raise SystemExit("the app did not settle within 90 s")


def cpu_seconds(app_pid: int, database: str) -> tuple[float, float]:
    """CPU time used so far by the app (uvicorn and its workers) and by the PostgreSQL
    backends serving `database`: what one update costs, whatever else runs on the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    app = database_cpu = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            pid = int(stat.split("/")[2])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        used = (int(fields[11]) + int(fields[12])) / tick
        if pid == app_pid or int(fields[1]) == app_pid:
            app += used
        elif command.startswith("postgres: ") and f" {database} " in command:
            database_cpu += used
    return app, database_cpu


# --- A small HTTP/1.1 keep-alive client ---------------------------------------------------------


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, token: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readline()).strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    # Every request, warm-up included: what the CPU counters saw.
    done: int = 0

    @property
    def ok(self) -> int:
        return self.statuses[201] + self.statuses[200]

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def post_updates(
    port: int,
    people: list[dict[str, Any]],
    *,
    seconds: float,
    warmup: float,
    rate: float | None = None,
) -> Results:
    """Each person's client posts updates to their tasks over one keep-alive connection.

    `rate` None: as fast as answers come (closed loop: the throughput the app can carry; with
    N clients and X updates/s each update waits N / X on average, Little's law). `rate` given:
    the clients together send that many updates/s, each on its own fixed schedule (open loop),
    and a latency counts from when the update was due, so an update that had to wait for its
    client's previous answer is not timed as if it had been sent on time.
    """
    results = Results()
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds
    interval = len(people) / rate if rate else 0.0

    async def client(person: dict[str, Any]) -> None:
        connection = Connection(port)
        # The versions the client was last given, kept from one run to the next.
        versions = person.setdefault("versions", dict.fromkeys(person["tasks"], 1))
        rng = random.Random(person["user_id"])
        due = start + rng.uniform(0, interval)
        try:
            while (now := time.perf_counter()) < stop:
                if interval:
                    if due > now:
                        await asyncio.sleep(due - now)
                    now, due = due, due + interval
                task_id = rng.choice(person["tasks"])
                body = json.dumps(
                    {
                        "version": versions[task_id],
                        "state": "dang_thuc_hien",
                        "progress": rng.randint(1, 99),
                        "narrative": "Đã triển khai tại các thôn, tổ dân phố.",
                    }
                ).encode()
                status, payload = await connection.request(
                    "POST", f"/api/tasks/{task_id}/updates", token=person["token"], body=body
                )
                took = time.perf_counter() - now
                if status == 201:
                    versions[task_id] = json.loads(payload)["task"]["version"]
                elif status == 409:
                    versions[task_id] = json.loads(payload)["error"]["details"]["task"]["version"]
                results.done += 1
                if now >= measure_from:
                    results.latencies.append(took)
                    results.statuses[status] += 1
        finally:
            connection.close()

    await asyncio.gather(*(client(person) for person in people))
    results.seconds = seconds
    return results


async def time_list(port: int, token: str, path: str, *, repeat: int) -> list[float]:
    connection = Connection(port)
    took: list[float] = []
    try:
        for n in range(repeat + 5):
            start = time.perf_counter()
            status, _ = await connection.request("GET", path, token=token)
            if status != 200:
                raise SystemExit(f"GET {path}: HTTP {status}")
            if n >= 5:  # the first calls warm the connection and caches
                took.append(time.perf_counter() - start)
    finally:
        connection.close()
    return took


# --- The same work through SQLAlchemy alone -----------------------------------------------------


def direct_updates(
    engine: Engine, people: list[dict[str, Any]], *, seconds: float, warmup: float
) -> Results:
    """Load, update, insert history and audit, commit: the database work of one status update."""
    results = Results()
    lock = threading.Lock()
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    def worker(person: dict[str, Any]) -> None:
        rng = random.Random(person["user_id"])
        while (now := time.perf_counter()) < stop:
            task_id = rng.choice(person["tasks"])
            progress = rng.randint(1, 99)
            with SessionFactory(bind=engine) as session:
                task = session.get(Task, task_id)
                assert task is not None
                at = datetime.now(UTC)
                before = {"state": task.state.value, "progress": task.progress}
                task.state = TaskState.DANG_THUC_HIEN
                task.progress = progress
                task.updated_at = at
                session.add(
                    StatusUpdate(
                        task_id=task_id,
                        user_id=person["user_id"],
                        created_at=at,
                        state=TaskState.DANG_THUC_HIEN,
                        progress=progress,
                        narrative="Đã triển khai tại các thôn, tổ dân phố.",
                    )
                )
                session.add(
                    AuditLog(
                        at=at,
                        actor_user_id=person["user_id"],
                        action="task.update",
                        entity="tasks",
                        entity_id=task_id,
                        detail={
                            "from": before,
                            "to": {"state": "dang_thuc_hien", "progress": progress},
                        },
                    )
                )
                session.commit()
            took = time.perf_counter() - now
            if now >= measure_from:
                with lock:
                    results.latencies.append(took)
                    results.statuses[201] += 1

    threads = [threading.Thread(target=worker, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.seconds = seconds
    return results


def focal_list_database_time(engine: Engine, url: str, *, user_id: int) -> float:
    """Median time PostgreSQL spends executing the statements of a focal point's list page,
    from EXPLAIN ANALYZE of exactly the SQL the service sends."""
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        seen.append((args[2], args[3]))

    settings = Settings(database_url=url)
    totals = []
    for _ in range(21):
        seen.clear()
        with SessionFactory(bind=engine) as session:
            user = session.get(User, user_id)
            assert user is not None
            event.listen(engine, "before_cursor_execute", record)
            try:
                task_service.list_tasks(
                    session,
                    user=user,
                    filters=TaskFilters(mine=True),
                    page=PageParams(),
                    clock=system_clock,
                    settings=settings,
                )
            finally:
                event.remove(engine, "before_cursor_execute", record)
            total = 0.0
            for statement, parameters in seen:
                plan = session.connection().exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                )
                total += float(plan.scalar_one()[0]["Execution Time"])
            totals.append(total)
    return statistics.median(totals)


# --- Report -------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("--clients", type=int, default=50)
    arguments.add_argument("--seconds", type=float, default=20)
    arguments.add_argument("--warmup", type=float, default=3)
    arguments.add_argument("--tasks", type=int, default=1_000_000)
    arguments.add_argument(
        "--rate", type=float, default=300, help="updates/s sent in the paced run (open loop)"
    )
    arguments.add_argument("--workers", type=int, default=2, help="dondoc serve --workers")
    arguments.add_argument("--pool", type=int, default=25, help="database connections per worker")
    arguments.add_argument("--repeat", type=int, default=200, help="calls per timed list")
    arguments.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = arguments.parse_args()
    server_url = os.environ.get(URL_ENV)
    if not server_url:
        raise SystemExit(f"set {URL_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")

    url, name = create_database(server_url)
    print(f"database {name}: migrating and seeding {options.tasks:,} tasks ...", file=sys.stderr)
    app: subprocess.Popen[bytes] | None = None
    app_log = tempfile.NamedTemporaryFile(prefix="dondoc-bench-", suffix=".log")
    try:
        upgrade_database(url)
        seeded = seed(url, tasks=options.tasks, clients=options.clients)
        people = seeded["people"]
        port = free_port()
        app = start_app(url, port=port, workers=options.workers, pool=options.pool, log=app_log)

        print("HTTP status updates ...", file=sys.stderr)
        load_before = os.getloadavg()[0]
        app_cpu, client_cpu = cpu_seconds(app.pid, name), time.process_time()
        http = asyncio.run(
            post_updates(port, people, seconds=options.seconds, warmup=options.warmup)
        )
        after = cpu_seconds(app.pid, name)
        cpu_ms = {
            "app": (after[0] - app_cpu[0]) / http.done * 1000,
            "database": (after[1] - app_cpu[1]) / http.done * 1000,
            "client": (time.process_time() - client_cpu) / http.done * 1000,
        }
        load_after = os.getloadavg()[0]
        print(f"HTTP status updates at {options.rate:g}/s ...", file=sys.stderr)
        paced = asyncio.run(
            post_updates(
                port, people, seconds=options.seconds, warmup=options.warmup, rate=options.rate
            )
        )
        print("lists ...", file=sys.stderr)
        focal_token = people[0]["token"]
        lists = {
            "focal point, `mine=true` (first page of 50)": (focal_token, "/api/tasks?mine=true"),
            "focal point, `mine=true&timeliness=qua_han_chua_hoan_thanh`": (
                focal_token,
                "/api/tasks?mine=true&timeliness=qua_han_chua_hoan_thanh",
            ),
            "focal point, `mine=true&offset=500`": (focal_token, "/api/tasks?mine=true&offset=500"),
            f"lead office, one plan (`plan_id=1`, {options.tasks // PLANS:,} tasks)": (
                seeded["lead_token"],
                "/api/tasks?plan_id=1",
            ),
            "for scale: `GET /healthz` (no database, no sign-in)": (focal_token, "/healthz"),
        }
        list_times = {
            label: asyncio.run(time_list(port, token, path, repeat=options.repeat))
            for label, (token, path) in lists.items()
        }
        app.terminate()
        app.wait(timeout=30)
        app = None

        print("the same updates through SQLAlchemy alone ...", file=sys.stderr)
        engine = make_engine(url, pool_size=options.clients)
        database_ms = focal_list_database_time(engine, url, user_id=people[0]["user_id"])
        direct = direct_updates(engine, people, seconds=options.seconds, warmup=options.warmup)
        engine.dispose()
    finally:
        if app is not None:
            app.kill()
        app_log.close()
        if not options.keep:
            drop_database(server_url, name)

    with create_engine(make_url(server_url).set(drivername="postgresql+psycopg")).connect() as c:
        server_version = c.exec_driver_sql("SHOW server_version").scalar()
    command = " ".join(
        [f"{URL_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/updates.py"]
        + sys.argv[1:]
    )
    cpus = os.cpu_count() or 1
    http_rate = http.ok / http.seconds
    direct_rate = direct.ok / direct.seconds
    lines = [
        "## Status updates and task lists (`bench/updates.py`, PostgreSQL)",
        "",
        "Targets: at least 300 status updates/s from 50 concurrent clients over HTTP on",
        "loopback, p95 under 100 ms; a focal point's task list under 50 ms with 1,000,000 tasks",
        "in the database.",
        "",
        f"Command: `{command}` — {date.today().isoformat()}, on {os.cpu_count()} CPUs, "
        f"PostgreSQL {server_version}, "
        f"Python {platform.python_version()}; `dondoc serve --workers {options.workers}` (uvicorn, "
        f"uvloop, httptools), "
        f"{options.pool} database connections each; the clients, the app and PostgreSQL share "
        f"the machine. Load average (1 min) before and after the HTTP run: {load_before:.1f}, "
        f"{load_after:.1f}.",
        "",
        f"Database: {options.tasks:,} tasks over {AGENCIES - 1} agencies and {PLANS} plans "
        f"(seeded in {seeded['seconds']:.1f} s), {seeded['tasks_per_agency']:,} tasks per agency.",
        "",
        "| status updates | updates/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|",
        f"| HTTP, {options.clients} clients, each sending as soon as answered, "
        f"{options.seconds:g} s | {http_rate:.0f} | "
        f"{ms(percentile(http.latencies, 0.5))} | {ms(percentile(http.latencies, 0.95))} | "
        f"{ms(percentile(http.latencies, 0.99))} | {http.errors} |",
        f"| HTTP, {options.clients} clients sending {options.rate:g}/s together, "
        f"{options.seconds:g} s | {paced.ok / paced.seconds:.0f} | "
        f"{ms(percentile(paced.latencies, 0.5))} | {ms(percentile(paced.latencies, 0.95))} | "
        f"{ms(percentile(paced.latencies, 0.99))} | {paced.errors} |",
        f"| SQLAlchemy alone, {options.clients} threads, {options.seconds:g} s | "
        f"{direct_rate:.0f} | "
        f"{ms(percentile(direct.latencies, 0.5))} | {ms(percentile(direct.latencies, 0.95))} | "
        f"{ms(percentile(direct.latencies, 0.99))} | {direct.errors} |",
        "",
        "CPU time per HTTP update (warm-up included; from /proc): app "
        f"{cpu_ms['app']:.1f} ms, PostgreSQL {cpu_ms['database']:.1f} ms, load generator "
        f"{cpu_ms['client']:.1f} ms — so this machine's {cpus} CPUs, if nothing else "
        f"ran, would carry at most about {cpus * 1000 / sum(cpu_ms.values()):.0f} "
        "updates/s.",
        "",
        f"HTTP / SQLAlchemy alone: {http_rate / direct_rate:.2f}."
        + (f" HTTP statuses: {dict(http.statuses)}." if http.errors else ""),
        "",
        f"PostgreSQL's own time for the focal point's first page (its SQL under EXPLAIN "
        f"ANALYZE, median of 21): {database_ms:.1f} ms.",
        "",
        f"| task list ({options.repeat} calls each, over HTTP) | p50 (ms) | p95 (ms) | max (ms) |",
        "|---|---:|---:|---:|",
    ]
    for label, took in list_times.items():
        lines.append(
            f"| {label} | {ms(statistics.median(took))} | {ms(percentile(took, 0.95))} | "
            f"{ms(max(took))} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
