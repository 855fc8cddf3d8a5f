"""Database fixtures shared by every test: SQLite always, PostgreSQL when a server is given.

`database_url` (and `engine`, `session` on top of it) runs a test once per backend on a database
at the latest schema with no rows. PostgreSQL runs need DONDOC_TEST_DATABASE_URL, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test: a throwaway database is created from it for
the session and dropped at the end, so runs never collide. With DONDOC_REQUIRE_POSTGRES=1 (CI),
a run where PostgreSQL tests were skipped or none ran fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import (
    SessionFactory,
    dispose_engines,
    make_engine,
    parse_database_url,
    upgrade_database,
)
from service.models import Base

POSTGRES_URL_ENV = "DONDOC_TEST_DATABASE_URL"
REQUIRE_POSTGRES_ENV = "DONDOC_REQUIRE_POSTGRES"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file at the latest schema, migrated once and copied for each test (fast)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "dondoc.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


# --- PostgreSQL ---------------------------------------------------------------------------------

NO_POSTGRES_REASON = f"PostgreSQL tests need {POSTGRES_URL_ENV} (a server URL); it is not set"


@pytest.fixture(scope="session")
def _postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(NO_POSTGRES_REASON)
    return url


def _server_engine(url: str) -> Engine:
    """An engine for CREATE/DROP DATABASE: on the given database, or on the "postgres"
    maintenance database when the given one does not exist (yet) on a fresh server."""
    given = parse_database_url(url)
    for candidate in (given, given.set(database="postgres")):
        engine = create_engine(candidate, isolation_level="AUTOCOMMIT", pool_size=1)
        try:
            with engine.connect():
                return engine
        except OperationalError as exc:
            engine.dispose()
            error = exc
    pytest.fail(f"cannot reach the PostgreSQL server in {POSTGRES_URL_ENV}: {error.orig}")


@pytest.fixture(scope="session")
def _create_postgres_database(_postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """Creates throwaway databases on the test server; drops them all when the session ends."""
    server = _server_engine(_postgres_server_url)
    prefix = f"dondoc_test_{secrets.token_hex(4)}"
    created: list[str] = []

    def create() -> str:
        name = f"{prefix}_{len(created)}"
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        created.append(name)
        url = parse_database_url(_postgres_server_url).set(database=name)
        return url.render_as_string(hide_password=False)

    yield create
    if created:
        with server.connect() as connection:
            for name in created:
                # FORCE (PostgreSQL 13+): a connection a failed test left open must not keep it.
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


@pytest.fixture(scope="session")
def _postgres_session_database(
    _create_postgres_database: Callable[[], str],
) -> Iterator[tuple[str, Engine]]:
    """The session's database, migrated once, and an engine to empty it between tests."""
    url = _create_postgres_database()
    upgrade_database(url)
    engine = make_engine(url, pool_size=1)
    yield url, engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE")


# --- What tests use -----------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": every test using the database runs on both."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the latest schema with no rows, of its own for this test."""
    if backend == "sqlite":
        path = tmp_path / "dondoc.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url, engine = request.getfixturevalue("_postgres_session_database")
    _truncate_all(engine)
    return str(url)


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables at all, for tests of the migrations themselves."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty' / 'dondoc.sqlite3'}"
    return str(request.getfixturevalue("_create_postgres_database")())


@pytest.fixture
def postgres_database_url(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL database alone, for behaviour only PostgreSQL has; mark the test postgres."""
    url, engine = request.getfixturevalue("_postgres_session_database")
    _truncate_all(engine)
    return str(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session like `session_scope`'s. Nothing is committed unless the test commits."""
    with SessionFactory(bind=engine) as session:
        yield session


# --- CI: PostgreSQL must really have run --------------------------------------------------------

_postgres_outcomes = {"ran": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" not in report.keywords:
        return
    if report.skipped:
        # Only a skip for want of a server counts: a PostgreSQL test may skip for another reason
        # (LibreOffice missing, say) that has nothing to do with the database.
        if NO_POSTGRES_REASON in str(report.longrepr):
            _postgres_outcomes["skipped"] += 1
    elif report.when == "call":
        _postgres_outcomes["ran"] += 1


def _missing_postgres() -> str | None:
    if os.environ.get(REQUIRE_POSTGRES_ENV) != "1":
        return None
    if _postgres_outcomes["skipped"]:
        return (
            f"{REQUIRE_POSTGRES_ENV}=1 but {_postgres_outcomes['skipped']} PostgreSQL test(s) "
            f"were skipped: set {POSTGRES_URL_ENV} to a reachable server"
        )
    if not _postgres_outcomes["ran"]:
        return f"{REQUIRE_POSTGRES_ENV}=1 but no PostgreSQL test ran"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _missing_postgres():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = _missing_postgres()
    if problem:
        terminalreporter.section("PostgreSQL required", red=True)
        terminalreporter.write_line(problem, red=True, bold=True)


# --- The HTTP app -------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app on this test's database, with its own data directory."""
    return Settings(environment="test", database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The whole app over HTTP (in process), on this test's database."""
    from service.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client
    dispose_engines()
