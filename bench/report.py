"""The consolidated report of a large plan: 200 agencies and 2,000 tasks, in every format.

Run (SQLite in a temporary directory by default):

    python bench/report.py [--agencies 200] [--tasks 2000] [--repeat 3] [--database-url URL]
                           [--write-docs]

1. Seeds a fresh database: one active plan with `--agencies` agencies, `--tasks` tasks spread over
   them (texts of real plan length), two status updates per task, three report deadlines with an
   obligation per agency (sent on time, late, returned or missing), as a plan looks mid-year.
2. Times, `--repeat` times (median reported): the report model from the database, then each
   format rendered from it, and the whole request (query + render) per format.
3. Measures memory per format: the peak resident size (VmHWM) of a fresh process making one
   report, and the peak of Python allocations of one request (tracemalloc, in a separate run as
   tracing slows the code down; it does not see lxml's own memory).
4. Prints a Markdown section; `--write-docs` puts it into docs/benchmarks.md (replacing an earlier
   run's section).

Targets (issue 6): DOCX under 5 s, XLSX under 3 s, peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from service.clock import FixedClock
from service.config import Settings
from service.database import SessionFactory, make_engine, upgrade_database
from service.models import (
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
    StatusUpdate,
    Task,
    TaskRole,
    TaskState,
    User,
    UserRole,
)
from service.reports import service as report_service
from service.reports.schemas import ConsolidatedReport, ReportFormat

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Consolidated report (`bench/report.py`, {backend})"
TARGETS = {ReportFormat.DOCX: 5.0, ReportFormat.XLSX: 3.0}
MEMORY_TARGET_MB = 300
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# 20/06/2025, 08:00 in Hanoi: after the six-month deadline, before the annual one.
NOW = datetime(2025, 6, 20, 8, tzinfo=HANOI).astimezone(UTC)

TASK_TEXT = (
    "Chủ trì, phối hợp với các cơ quan, ban, ngành liên quan và Ủy ban nhân dân các xã, thị trấn "
    "tổ chức triển khai thực hiện chính sách hỗ trợ hộ nghèo, hộ cận nghèo tiếp cận các dịch vụ "
    "xã hội cơ bản; định kỳ tổng hợp kết quả thực hiện báo cáo Ủy ban nhân dân huyện (số {n})."
)
NARRATIVE = "Đã triển khai đến {n} hộ; đang tổng hợp số liệu, dự kiến hoàn thành trong tháng tới."


def seed(url: str, *, agencies: int, tasks: int) -> int:
    """One active plan of `agencies` agencies and `tasks` tasks; returns its id."""
    engine = make_engine(url)
    with SessionFactory(bind=engine) as session:
        lead = Agency(
            name="Phòng Lao động - Thương binh và Xã hội",
            level=AgencyLevel.DISTRICT,
            kind=AgencyKind.DEPARTMENT,
        )
        session.add(lead)
        session.flush()
        writer = User(
            email="dau-moi@example.vn",
            full_name="Nguyễn Văn Đầu Mối",
            role=UserRole.FOCAL_POINT,
            agency_id=lead.id,
        )
        plan = Plan(
            title="Triển khai thực hiện Chương trình mục tiêu quốc gia giảm nghèo bền vững",
            number="45/KH-UBND",
            issuer="Ủy ban nhân dân huyện Thanh Liêm",
            issued_on=date(2025, 3, 15),
            start_year=2025,
            end_year=2025,
            status=PlanStatus.ACTIVE,
            lead_agency_id=lead.id,
            source_filename="bench.txt",
            source_format=SourceFormat.TXT,
            source_sha256="b" * 64,
            extraction={},
        )
        session.add_all([writer, plan])
        session.flush()
        agency_ids = list(
            session.scalars(
                insert(Agency).returning(Agency.id),
                [
                    {
                        "name": f"Cơ quan, đơn vị thử nghiệm số {index + 1:03d}",
                        "level": AgencyLevel.DISTRICT,
                        "kind": AgencyKind.DEPARTMENT,
                        "is_group": False,
                        "is_active": True,
                        "created_at": NOW,
                    }
                    for index in range(agencies - 1)
                ],
            )
        )
        agency_ids.insert(0, lead.id)
        assignment_ids = list(
            session.scalars(
                insert(Assignment).returning(Assignment.id),
                [
                    {
                        "plan_id": plan.id,
                        "ordinal": str(index + 1),
                        "heading": f"Cơ quan, đơn vị thử nghiệm số {index + 1:03d}",
                        "is_request": False,
                        "is_lead": index == 0,
                        "position": index,
                    }
                    for index in range(agencies)
                ],
            )
        )
        states = [
            (TaskState.HOAN_THANH, 100),
            (TaskState.DANG_THUC_HIEN, 60),
            (TaskState.GAP_VUONG_MAC, 30),
            (TaskState.CHUA_TRIEN_KHAI, 0),
            (TaskState.DANG_THUC_HIEN, 40),
        ]
        task_rows = []
        for number in range(tasks):
            slot = number % agencies
            state, progress = states[number % len(states)]
            due_on = (date(2025, 5, 31), date(2025, 6, 22), date(2025, 12, 31), None)[number % 4]
            task_rows.append(
                {
                    "plan_id": plan.id,
                    "assignment_id": assignment_ids[slot],
                    "agency_id": agency_ids[slot],
                    "text": TASK_TEXT.format(n=number + 1),
                    "role": TaskRole.CHU_TRI,
                    "co_agencies": [],
                    "due_on": due_on,
                    "state": state,
                    "progress": progress,
                    "blocked_reason": (
                        "Chưa được bố trí kinh phí thực hiện"
                        if state == TaskState.GAP_VUONG_MAC
                        else None
                    ),
                    "completed_on": date(2025, 5, 20) if state == TaskState.HOAN_THANH else None,
                    "version": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        task_ids = list(session.scalars(insert(Task).returning(Task.id), task_rows))
        session.execute(
            insert(StatusUpdate),
            [
                {
                    "task_id": task_id,
                    "user_id": writer.id,
                    "created_at": NOW - timedelta(days=10 - step),
                    "state": row["state"],
                    "progress": row["progress"],
                    "narrative": NARRATIVE.format(n=index) if step else None,
                    "blocked_reason": row["blocked_reason"],
                }
                for index, (task_id, row) in enumerate(zip(task_ids, task_rows, strict=True))
                for step in (0, 1)
            ],
        )
        deadlines = []
        for kind, label, due_on in (
            ("quarterly", "Báo cáo quý I năm 2025", date(2025, 4, 15)),
            ("semiannual", "Báo cáo 6 tháng đầu năm 2025", date(2025, 6, 10)),
            ("annual", "Báo cáo năm 2025", date(2025, 11, 10)),
        ):
            deadline = ReportDeadline(
                plan_id=plan.id, kind=kind, label=label, due_on=due_on, source=DeadlineSource.PLAN
            )
            session.add(deadline)
            deadlines.append(deadline)
        session.flush()
        outcomes = [
            (ObligationStatus.ACCEPTED, -2),
            (ObligationStatus.SUBMITTED, 3),
            (ObligationStatus.RETURNED, -1),
            (ObligationStatus.PENDING, None),
        ]
        obligation_rows = []
        for deadline in deadlines:
            for index, agency_id in enumerate(agency_ids):
                status, offset = outcomes[index % len(outcomes)]
                if deadline.due_on > NOW.date():
                    status, offset = ObligationStatus.PENDING, None
                sent = offset is not None
                obligation_rows.append(
                    {
                        "deadline_id": deadline.id,
                        "agency_id": agency_id,
                        "due_on": deadline.due_on,
                        "status": status,
                        "submitted_at": (
                            datetime(
                                deadline.due_on.year,
                                deadline.due_on.month,
                                deadline.due_on.day,
                                9,
                                tzinfo=HANOI,
                            )
                            + timedelta(days=offset)
                            if sent and offset is not None
                            else None
                        ),
                        "submitted_by_id": writer.id if sent else None,
                        "narrative": NARRATIVE.format(n=index) if sent else None,
                        "review_comment": (
                            "Thiếu số liệu" if status == ObligationStatus.RETURNED else None
                        ),
                        "version": 1,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        session.execute(insert(ReportObligation), obligation_rows)
        session.commit()
        plan_id = plan.id
        assert session.scalar(select(Task.id).where(Task.plan_id == plan_id).limit(1))
    engine.dispose()
    return plan_id


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of `repeat` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def peak_mb(work: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def one_request(url: str, plan_id: int, report_format: ReportFormat) -> float:
    """Peak resident size (MB) of a fresh process that makes one report: what a server worker
    or `dondoc report` needs for it, Python and libraries included."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            report_format.value,
            "--database-url",
            url,
            "--plan-id",
            str(plan_id),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip())


def _one(url: str, plan_id: int, report_format: ReportFormat) -> None:
    engine = make_engine(url)
    settings = Settings(environment="test", database_url=url, data_dir=Path(tempfile.gettempdir()))
    with SessionFactory(bind=engine) as session:
        report = report_service.build_report(
            session,
            user=None,
            plan_id=plan_id,
            deadline_id=None,
            clock=FixedClock(NOW),
            settings=settings,
        )
    report_service.render(report, report_format)
    print(_peak_resident_mb())


def _peak_resident_mb() -> float:
    """This process's peak resident size. Linux's VmHWM is this program's own; getrusage's
    maxrss can carry over the parent's size from before the exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    # Internal: one report in this process, print its peak resident size.
    parser.add_argument("--one", choices=[f.value for f in ReportFormat], help=argparse.SUPPRESS)
    parser.add_argument("--plan-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.database_url, args.plan_id, ReportFormat(args.one))
        return 0

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    workdir = Path(tempfile.mkdtemp(prefix="dondoc-bench-report-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    try:
        upgrade_database(url)
        started = time.perf_counter()
        plan_id = seed(url, agencies=args.agencies, tasks=args.tasks)
        seeded = time.perf_counter() - started
        settings = Settings(environment="test", database_url=url, data_dir=workdir / "data")
        engine = make_engine(url)
        clock = FixedClock(NOW)

        def build() -> ConsolidatedReport:
            with SessionFactory(bind=engine) as session:
                return report_service.build_report(
                    session,
                    user=None,
                    plan_id=plan_id,
                    deadline_id=None,
                    clock=clock,
                    settings=settings,
                )

        def request(report_format: ReportFormat) -> bytes:
            return report_service.render(build(), report_format).content

        build_s, report = timed(build, args.repeat)

        def render_only(report_format: ReportFormat) -> bytes:
            return report_service.render(report, report_format).content

        rows = []
        for report_format in ReportFormat:
            render_only(report_format)  # imports the format's library: not part of a request
            render_s, content = timed(partial(render_only, report_format), args.repeat)
            total_s, _ = timed(partial(request, report_format), args.repeat)
            traced = peak_mb(partial(request, report_format))
            resident = one_request(url, plan_id, report_format)
            rows.append((report_format, render_s, total_s, traced, resident, len(content)))
        engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    shown = make_url(url).render_as_string(hide_password=True)
    command = "python " + " ".join(
        ["bench/report.py", *(shown if arg == url else arg for arg in sys.argv[1:])]
    )
    lines = [
        SECTION.format(backend=backend),
        "",
        f"Targets: DOCX under {TARGETS[ReportFormat.DOCX]:g} s, XLSX under "
        f"{TARGETS[ReportFormat.XLSX]:g} s, peak memory under {MEMORY_TARGET_MB} MB, for a plan "
        "with 200 agencies and 2,000 tasks.",
        "",
        f"Command: `{command}` — {date.today().isoformat()}, {backend}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs with a load average of {load:.1f} "
        f"when it started. A plan of {args.agencies} agencies, {args.tasks} tasks "
        f"(two status updates each), three deadlines with {3 * args.agencies} report "
        f"obligations (seeded in {seeded:.1f} s). Times are medians of {args.repeat} runs; "
        "“whole request” = the report model from the database (4 SQL statements) + rendering; "
        "“peak resident” is the peak resident size (VmHWM) of a fresh process that makes one "
        "report, Python and libraries included — what a worker or `dondoc report` needs; "
        "“traced” is tracemalloc's peak of Python allocations for one whole request (it does not "
        "see lxml's own memory).",
        "",
        f"Report model from the database: {build_s * 1000:.0f} ms "
        f"({len(report.agencies)} agencies, {report.summary.tasks_total} tasks).",
        "",
        "| Format | Render | Whole request | Target | Peak resident | Traced | Size |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    failed = []
    for report_format, render_s, total_s, traced, resident, size in rows:
        target = TARGETS.get(report_format)
        ok = (target is None or total_s < target) and resident < MEMORY_TARGET_MB
        if not ok:
            failed.append(report_format.value)
        lines.append(
            f"| {report_format.value.upper()} | {render_s:.2f} s | {total_s:.2f} s | "
            f"{f'< {target:g} s' if target else '—'} | {resident:.0f} MB | {traced:.0f} MB | "
            f"{size / 1024:.0f} KB |"
        )
    lines += [
        "",
        "Every target met." if not failed else f"Targets missed: {', '.join(failed)}.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write_docs:
        write_docs(section, SECTION.format(backend=backend))
    return 1 if failed else 0


def write_docs(section: str, heading: str) -> None:
    """Put `section` into docs/benchmarks.md, replacing an earlier run's section."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(heading))
        end = len(text) if following == -1 else following + 1
        text = text[:start] + section + ("\n" + text[end:] if following != -1 else "")
    DOCS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
