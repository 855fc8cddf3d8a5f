"""Server render time of the main web pages for a plan with 500 agencies and 50,000 tasks.

Run (SQLite in a temporary directory by default):

    python bench/pages.py [--agencies 500] [--tasks 50000] [--repeat 20] [--database-url URL]
                          [--write-docs]

1. Seeds a fresh database: one active plan led by a lead office, `--agencies` agencies with
   `--tasks` tasks spread over them (every agency has tasks in every state, progress and due
   dates over the year, some done late, some overdue), four report deadlines with one
   obligation per agency (sent on time, late, returned, missing), a focal point per agency, the
   lead office and an administrator; then refreshes the planner's statistics.
2. Requests each page in process (FastAPI's TestClient: routing, the session cookie, the SQL, the
   template), `--repeat` times after one warm-up, as the right user; prints the median and the
   95th percentile of wall time, the median CPU time of this process and the SQL statements per
   request. The pages' own budget is 100 ms.
3. Prints a Markdown section; `--write-docs` puts it into docs/benchmarks.md (replacing an earlier
   run's section of the same backend).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.auth import service as auth_service  # noqa: E402
from service.auth.sessions import SESSION_COOKIE  # noqa: E402
from service.clock import FixedClock, get_clock  # noqa: E402
from service.config import Settings  # noqa: E402
from service.database import SessionFactory, dispose_engines, make_engine, upgrade_database  # noqa: E402
from service.main import create_app  # noqa: E402
from service.models import (  # noqa: E402
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    DeadlineSource,
    ObligationStatus,
    Plan,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    SourceFormat,
    Task,
    TaskRole,
    TaskState,
    User,
    UserRole,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Web pages (`bench/pages.py`, {backend})"
TARGET_MS = 100.0
# 10:00 on 16/06/2025 in Hanoi: after the first report deadline, mid-year.
NOW = datetime(2025, 6, 16, 3, 0, tzinfo=UTC)
TEXT = (
    "Tổ chức rà soát, cập nhật danh sách hộ nghèo, hộ cận nghèo trên địa bàn; phối hợp với các "
    "cơ quan liên quan triển khai chính sách hỗ trợ, báo cáo kết quả về Ủy ban nhân dân huyện."
)


def seed(url: str, *, agencies: int, tasks: int) -> dict[str, Any]:
    """The plan, its agencies, tasks, deadlines and obligations; the ids the pages need."""
    engine = make_engine(url)
    with SessionFactory(bind=engine) as session:
        lead = Agency(
            name="Phòng Lao động - Thương binh và Xã hội",
            level=AgencyLevel.DISTRICT,
            kind=AgencyKind.DEPARTMENT,
        )
        session.add(lead)
        session.flush()
        plan = Plan(
            title="Kế hoạch thực hiện Chương trình giảm nghèo bền vững năm 2025",
            number="145/KH-UBND",
            status=PlanStatus.ACTIVE,
            lead_agency_id=lead.id,
            source_filename="ke-hoach-145.txt",
            source_format=SourceFormat.TXT,
            source_sha256="b" * 64,
            extraction={"schema": "plan-extraction/1"},
            activated_at=NOW - timedelta(days=150),
        )
        session.add(plan)
        session.flush()
        assignment = Assignment(plan_id=plan.id, ordinal="1", heading="Các cơ quan", position=0)
        session.add(assignment)
        session.execute(
            insert(Agency),
            [
                {
                    "name": f"Ủy ban nhân dân xã số {number:03d}",
                    "level": AgencyLevel.COMMUNE,
                    "kind": AgencyKind.PEOPLE_COMMITTEE,
                    "is_group": False,
                    "is_active": True,
                }
                for number in range(1, agencies)
            ],
        )
        session.flush()
        agency_ids = [lead.id, *session.scalars(select(Agency.id).where(Agency.id != lead.id))]
        start = date(2025, 1, 15)
        rows = []
        for number in range(tasks):
            agency_id = agency_ids[number % len(agency_ids)]
            due_on = start + timedelta(days=(number * 7) % 345) if number % 10 else None
            # Each agency gets every state (number // agencies shifts the cycle per round), and
            # one done task in three was finished a few days late.
            state = list(TaskState)[(number + number // len(agency_ids)) % 4]
            progress = {
                TaskState.CHUA_TRIEN_KHAI: 0,
                TaskState.HOAN_THANH: 100,
            }.get(state, (number * 13) % 99)
            rows.append(
                {
                    "plan_id": plan.id,
                    "assignment_id": assignment.id,
                    "agency_id": agency_id,
                    "text": f"{TEXT} ({number})",
                    "role": TaskRole.THUC_HIEN,
                    "co_agencies": [],
                    "due_on": due_on,
                    "state": state,
                    "progress": progress,
                    "blocked_reason": "Chưa có kinh phí"
                    if state == TaskState.GAP_VUONG_MAC
                    else None,
                    "completed_on": due_on + timedelta(days=3 * (number % 3 == 0))
                    if state == TaskState.HOAN_THANH and due_on
                    else None,
                    "version": 1,
                }
            )
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Task), rows[chunk : chunk + 5000])
        outcomes = [
            (ObligationStatus.SUBMITTED, date(2025, 6, 5)),
            (ObligationStatus.ACCEPTED, date(2025, 6, 12)),
            (ObligationStatus.RETURNED, date(2025, 6, 8)),
            (ObligationStatus.PENDING, None),
        ]
        for kind, label, due_on in [
            ("semiannual", "Báo cáo 6 tháng đầu năm 2025", date(2025, 6, 10)),
            ("quarterly", "Báo cáo quý III năm 2025", date(2025, 9, 20)),
            ("annual", "Báo cáo năm 2025", date(2025, 11, 10)),
            ("quarterly", "Báo cáo quý IV năm 2025", date(2025, 12, 20)),
        ]:
            deadline = ReportDeadline(
                plan_id=plan.id, kind=kind, label=label, due_on=due_on, source=DeadlineSource.PLAN
            )
            session.add(deadline)
            session.flush()
            past = due_on < NOW.date()

            def sent_at(index: int, *, past: bool = past) -> datetime | None:
                day = outcomes[index % 4][1]
                return datetime.combine(day, datetime.min.time(), UTC) if past and day else None

            session.execute(
                insert(ReportObligation),
                [
                    {
                        "deadline_id": deadline.id,
                        "agency_id": agency_id,
                        "due_on": due_on,
                        "status": outcomes[index % 4][0] if past else ObligationStatus.PENDING,
                        "submitted_at": sent_at(index),
                        "review_comment": "Thiếu số liệu" if past and index % 4 == 2 else None,
                        "version": 1,
                    }
                    for index, agency_id in enumerate(agency_ids)
                ],
            )
        people = {
            "focal": User(
                email="dau-moi@example.vn",
                full_name="Đầu mối xã số 001",
                role=UserRole.FOCAL_POINT,
                agency_id=agency_ids[1],
            ),
            "lead": User(
                email="thuong-truc@example.vn",
                full_name="Cán bộ thường trực",
                role=UserRole.LEAD_OFFICE,
                agency_id=lead.id,
            ),
            "admin": User(email="admin@example.vn", full_name="Quản trị", role=UserRole.ADMIN),
        }
        session.add_all(people.values())
        # A focal point for every other agency: the users page lists 50 of them a page.
        session.execute(
            insert(User),
            [
                {
                    "email": f"dau-moi-{number:03d}@example.vn",
                    "full_name": f"Đầu mối đơn vị số {number:03d}",
                    "role": UserRole.FOCAL_POINT,
                    "agency_id": agency_id,
                    "is_active": True,
                }
                for number, agency_id in enumerate(agency_ids[2:], start=2)
            ],
        )
        session.commit()
        task_id = session.scalar(
            select(Task.id).where(Task.agency_id == agency_ids[1]).order_by(Task.id)
        )
        obligation_id = session.scalar(
            select(ReportObligation.id)
            .where(ReportObligation.agency_id == agency_ids[1])
            .order_by(ReportObligation.id)
        )
        result = {
            "focal_id": people["focal"].id,
            "plan_id": plan.id,
            "task_id": task_id,
            "obligation_id": obligation_id,
            "users": {name: person.id for name, person in people.items()},
        }
    analyze(engine)
    engine.dispose()
    return result


def analyze(engine: Engine) -> None:
    """Planner statistics (and PostgreSQL's visibility map) after the bulk load, as autovacuum
    would have them a minute later on a live database: without them PostgreSQL plans the task
    queries for an empty table."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


PAGES = [
    # (label, who, path template)
    ("Nhiệm vụ của tôi (`/tasks`, 25 of 100 tasks)", "focal", "/tasks"),
    ("A task and its history (`/tasks/{task_id}`)", "focal", "/tasks/{task_id}"),
    ("My reports (`/reports`)", "focal", "/reports"),
    ("A report (`/reports/{obligation_id}`)", "focal", "/reports/{obligation_id}"),
    ("Plans (`/plans`)", "lead", "/plans"),
    (
        "Plan dashboard (`/plans/{plan_id}`: 500 × 4 matrix, progress, chart)",
        "lead",
        "/plans/{plan_id}",
    ),
    ("Overdue tasks of the plan (`/plans/{plan_id}/overdue`)", "lead", "/plans/{plan_id}/overdue"),
    ("Agency registry (`/admin/agencies`)", "admin", "/admin/agencies"),
    ("Users (`/admin/users`, 50 of 501 accounts)", "admin", "/admin/users"),
    ("A user (`/admin/users/{focal_id}`)", "admin", "/admin/users/{focal_id}"),
]


Result = tuple[str, float, float, float, int, int]


def measure(url: str, ids: dict[str, Any], *, repeat: int, data_dir: Path) -> list[Result]:
    """(label, median, p95, median CPU time, SQL statements, size) per page.

    The CPU time is this process's (`process_time`: client, app and driver, not the database
    server's): the machine is shared, and load stretches wall time but not CPU time."""
    statements = []

    def count(*_args: Any) -> None:
        statements.append(1)

    event.listen(Engine, "before_cursor_execute", count)
    settings = Settings(environment="test", database_url=url, data_dir=data_dir)
    app = create_app(settings)
    clock = FixedClock(NOW)
    app.dependency_overrides[get_clock] = lambda: clock
    results = []
    with TestClient(app) as client:
        engine = make_engine(url)
        with SessionFactory(bind=engine) as session:
            people = {name: session.get(User, user_id) for name, user_id in ids["users"].items()}
            cookies = {
                name: auth_service.session_cookie(settings, user=person, now=NOW)
                for name, person in people.items()
                if person is not None
            }
        engine.dispose()
        for label, who, template in PAGES:
            path = template.format(**ids)
            client.cookies.set(SESSION_COOKIE, cookies[who])
            first = client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{path} answered {first.status_code}: {first.text[:300]}")
            times, cpu = [], []
            statements.clear()
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            results.append(
                (
                    label,
                    statistics.median(times),
                    p95,
                    statistics.median(cpu),
                    len(statements) // repeat,
                    len(first.content),
                )
            )
    event.remove(Engine, "before_cursor_execute", count)
    dispose_engines()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="an empty database (default: SQLite, temporary)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'pages.sqlite3'}"
        backend = "PostgreSQL" if make_url(url).get_backend_name() == "postgresql" else "SQLite"
        upgrade_database(url)
        started = time.perf_counter()
        ids = seed(url, agencies=args.agencies, tasks=args.tasks)
        seeded = time.perf_counter() - started
        load_before = os.getloadavg()[0]
        results = measure(url, ids, repeat=args.repeat, data_dir=Path(tmp) / "data")
        load_after = os.getloadavg()[0]

    command = " ".join(["python bench/pages.py", *sys.argv[1:]])
    lines = [
        SECTION.format(backend=backend),
        "",
        f"Target: every page under {TARGET_MS:.0f} ms on the server, for a plan with "
        f"{args.agencies} agencies and {args.tasks:,} tasks.",
        "",
        f"Command: `{command}` — {datetime.now(UTC).date().isoformat()}, {backend}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs with a 1-minute load average of "
        f"{load_before:.1f} when the measurement started and {load_after:.1f} when it ended. "
        f"Seeded in {seeded:.1f} s: one active plan, {args.agencies} agencies with a focal point "
        f"each, {args.tasks:,} tasks in every state (a focal point's agency has "
        f"{args.tasks // args.agencies}), four report deadlines with {4 * args.agencies:,} "
        "obligations; planner statistics refreshed after the load. Each page requested in "
        f"process (TestClient: routing, session cookie, SQL, template) {args.repeat} times after "
        "a warm-up. CPU is this process's CPU time per request (client, app and database driver; "
        "not the PostgreSQL server's), which other work on the machine does not stretch.",
        "",
        "| Page | Median | p95 | CPU (median) | SQL statements | Size |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, median, p95, cpu, statements, size in results:
        lines.append(
            f"| {label} | {median:.1f} ms | {p95:.1f} ms | {cpu:.1f} ms | {statements} "
            f"| {size / 1024:.0f} KB |"
        )
    worst = max(result[1] for result in results)
    lines += [
        "",
        "Every page meets the target."
        if worst < TARGET_MS
        else f"Slowest median: {worst:.1f} ms (over the {TARGET_MS:.0f} ms target).",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write_docs:
        write_docs(section, SECTION.format(backend=backend))


def write_docs(section: str, heading: str) -> None:
    """Put `section` into docs/benchmarks.md, replacing an earlier run's section."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
