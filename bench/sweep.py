"""Reminder sweep speed on PostgreSQL: its cost must follow what is due, not the table sizes.

Run: python bench/sweep.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                           [--sizes 10000,1000000] [--obligations 100000] [--due 1000] [--repeat 5]

For each size, a throwaway database is created on the server, migrated, filled with that many
tasks and `--obligations` report obligations (1,000 agencies with a focal point each, 1,000
active plans), of which `--due` (tasks and reports together) fall inside the sweep's window on
the bench day; everything else is due years away or already done. Then `jobs.sweep` runs
`--repeat` times, each in a transaction rolled back afterwards, so every run is a first sweep of
the day that inserts its reminder events. A second timing is the same sweep again in the same
transaction (everything already queued: the dedup path every 15 minutes).

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine

from notifications import jobs
from service.config import Settings
from service.database import SessionFactory, make_engine, parse_database_url, upgrade_database

# Tuesday 11/06/2024, 09:00 in Hanoi.
NOW = datetime(2024, 6, 11, 2, 0, tzinfo=UTC)
AGENCIES = 1000
PLANS = 1000


def create_database(server_url: str) -> tuple[str, str]:
    name = f"dondoc_bench_{secrets.token_hex(4)}"
    server = create_engine(parse_database_url(server_url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    return name, parse_database_url(server_url).set(database=name).render_as_string(False)


def drop_database(server_url: str, name: str) -> None:
    server = create_engine(parse_database_url(server_url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def fill(engine: Engine, *, tasks: int, obligations: int, due: int) -> None:
    """Rows by generate_series: a million tasks in seconds."""
    due_tasks = due * 9 // 10
    due_obligations = due - due_tasks
    deadlines_per_plan = max(obligations // (PLANS * 50), 1)
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            """
            INSERT INTO agencies (name, level, kind, is_group, is_active, created_at)
            SELECT 'Cơ quan ' || g, 'commune', 'people_committee', false, true, now()
            FROM generate_series(1, %(n)s) g
            """,
            {"n": AGENCIES},
        )
        run(
            """
            INSERT INTO users (email, full_name, role, agency_id, is_active, created_at)
            SELECT 'daumoi' || g || '@xa.gov.vn', 'Đầu mối ' || g, 'focal_point', g, true, now()
            FROM generate_series(1, %(n)s) g
            """,
            {"n": AGENCIES},
        )
        run(
            """
            INSERT INTO plans (title, number, status, lead_agency_id, source_filename,
                               source_format, source_sha256, extraction, warnings, created_at)
            SELECT 'Kế hoạch ' || g, g || '/KH-UBND', 'active', 1, 'plan' || g || '.txt', 'txt',
                   md5(g::text) || md5((g + 1)::text), '{}'::jsonb, '[]'::jsonb, now()
            FROM generate_series(1, %(n)s) g
            """,
            {"n": PLANS},
        )
        run(
            """
            INSERT INTO assignments (plan_id, ordinal, heading, is_request, is_lead, position)
            SELECT g, '1', 'Các cơ quan', false, false, 0 FROM generate_series(1, %(n)s) g
            """,
            {"n": PLANS},
        )
        # Tasks: `due_tasks` due around the bench day, the rest due in 2019-2022 and done, or
        # due from 2026 on.
        run(
            """
            INSERT INTO tasks (plan_id, assignment_id, agency_id, text, role, co_agencies,
                               due_on, state, progress, version, created_at, updated_at)
            SELECT p, p, 1 + (g %% %(agencies)s), 'Nhiệm vụ số ' || g, 'thuc_hien', '[]'::jsonb,
                   CASE
                     WHEN g <= %(due)s THEN DATE '2024-06-04' + (g %% 12)
                     WHEN g %% 2 = 0 THEN DATE '2019-01-01' + (g %% 1400)
                     ELSE DATE '2026-01-01' + (g %% 1400)
                   END,
                   CASE WHEN g > %(due)s AND g %% 2 = 0 THEN 'hoan_thanh'
                        ELSE 'dang_thuc_hien' END,
                   0, 1, now(), now()
            FROM generate_series(1, %(n)s) g, LATERAL (SELECT 1 + (g %% %(plans)s) AS p) x
            """,
            {"n": tasks, "due": due_tasks, "agencies": AGENCIES, "plans": PLANS},
        )
        run(
            """
            INSERT INTO report_deadlines (plan_id, kind, label, due_on, source)
            SELECT p, 'annual', 'Báo cáo năm ' || (2010 + d), DATE '2010-11-10' + d * 365,
                   'plan'
            FROM generate_series(1, %(plans)s) p, generate_series(0, %(per)s - 1) d
            """,
            {"plans": PLANS, "per": deadlines_per_plan},
        )
        # Obligations: all on deadlines years ago (submitted), except `due_obligations`
        # pending ones moved to the bench window.
        run(
            """
            INSERT INTO report_obligations (deadline_id, agency_id, due_on, status, version,
                                            created_at, updated_at)
            SELECT d.id, a, CASE WHEN row_number() OVER () <= %(due)s
                                 THEN DATE '2024-06-05' + (a %% 10) ELSE d.due_on END,
                   CASE WHEN row_number() OVER () <= %(due)s THEN 'pending'
                        ELSE 'accepted' END,
                   1, now(), now()
            FROM report_deadlines d, generate_series(1, 50) a
            LIMIT %(n)s
            """,
            {"n": obligations, "due": due_obligations},
        )
        run("ANALYZE")


def time_sweeps(engine: Engine, settings: Settings, repeat: int) -> dict[str, float]:
    """Medians (ms) of the first sweep of the day, a repeat, and composing the digests."""
    runs: dict[str, list[float]] = {"first": [], "again": [], "compose": []}
    events = 0
    for _ in range(repeat):
        with SessionFactory(bind=engine) as session:
            start = time.perf_counter()
            events = jobs.sweep(session, now=NOW, settings=settings)
            runs["first"].append(time.perf_counter() - start)
            start = time.perf_counter()
            jobs.sweep(session, now=NOW, settings=settings)
            runs["again"].append(time.perf_counter() - start)
            start = time.perf_counter()
            jobs.compose(session, now=NOW, settings=settings)
            runs["compose"].append(time.perf_counter() - start)
            session.rollback()
    medians = {name: statistics.median(times) * 1000 for name, times in runs.items()}
    return {**medians, "events": events}


def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    arguments.add_argument("--sizes", default="10000,1000000")
    arguments.add_argument("--obligations", type=int, default=100_000)
    arguments.add_argument("--due", type=int, default=1000)
    arguments.add_argument("--repeat", type=int, default=5)
    options = arguments.parse_args()

    rows = []
    for size in [int(part) for part in options.sizes.split(",")]:
        name, url = create_database(options.url)
        try:
            upgrade_database(url)
            engine = make_engine(url)
            start = time.perf_counter()
            fill(engine, tasks=size, obligations=options.obligations, due=options.due)
            filled = time.perf_counter() - start
            settings = Settings(environment="test", database_url=url)
            timing = time_sweeps(engine, settings, options.repeat)
            rows.append((size, timing, filled))
            engine.dispose()
        finally:
            drop_database(options.url, name)

    print(
        "| tasks | obligations | due | first sweep (ms) | repeat (ms) | events "
        "| compose digests (ms) | fill (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, timing, filled in rows:
        print(
            f"| {size:,} | {options.obligations:,} | {options.due:,} | {timing['first']:.0f} | "
            f"{timing['again']:.0f} | {timing['events']:,.0f} | {timing['compose']:.0f} | "
            f"{filled:.0f} |"
        )
    if len(rows) > 1:
        first = rows[-1][1]["first"] / rows[0][1]["first"]
        again = rows[-1][1]["again"] / rows[0][1]["again"]
        print()
        print(f"largest / smallest: first sweep {first:.2f}, repeat sweep {again:.2f}")


if __name__ == "__main__":
    main()
