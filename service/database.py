"""The database: engines, sessions (one transaction per request or job) and schema upgrades."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import migrations
from service.config import Settings, get_settings
from service.i18n import t

# Installed or editable, the migrations travel with the code: never rely on the working directory.
# `__path__`, not `__file__`: an editable install may expose the package as a namespace.
MIGRATIONS_DIR = Path(next(iter(migrations.__path__))).resolve()

# How long an SQLite writer waits for the lock before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000

# Services and repositories only flush; `get_session` and `session_scope` commit. Objects stay
# readable after the commit (e.g. to render the response) without another round trip.
SessionFactory = sessionmaker(expire_on_commit=False)

T = TypeVar("T")

_engines: dict[tuple[str, int, bool], Engine] = {}
_engines_lock = threading.Lock()


class DatabaseSetupError(Exception):
    """A database the service cannot use. `code` is for programs, `message` for people."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = t(code, **params)
        super().__init__(self.message)


def parse_database_url(url: str) -> URL:
    """`url` as a SQLAlchemy URL for a supported backend, with the psycopg 3 driver for PostgreSQL.

    "postgresql://" and "postgres://" would otherwise pick psycopg2, which is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseSetupError("db.bad_url") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise DatabaseSetupError("db.unsupported_backend", backend=parsed.drivername)
    return parsed


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine for `url`, set up for this service.

    SQLite: the data directory is created, and every connection gets WAL (readers never block
    the writer), enforced foreign keys and a busy timeout. PostgreSQL: connections are checked
    before use, so the service survives a database restart.
    """
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, pool_size=pool_size, echo=echo)
    return create_engine(parsed, pool_size=pool_size, pool_pre_ping=True, echo=echo)


def _make_sqlite_engine(url: URL, *, pool_size: int, echo: bool) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory:
        data_dir = Path(str(url.database)).parent
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseSetupError("db.data_dir", path=data_dir, detail=exc.strerror) from exc
    # An in-memory database lives in one connection: its pool takes no size.
    options: dict[str, Any] = {} if in_memory else {"pool_size": pool_size}
    engine = create_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **options
    )
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def get_engine(settings: Settings | None = None) -> Engine:
    """The process's engine for `settings` (default: the environment's), created once."""
    settings = settings or get_settings()
    key = (settings.effective_database_url, settings.database_pool_size, settings.database_echo)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(key[0], pool_size=key[1], echo=key[2])
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (app shutdown, tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction for a job or a CLI command: commit on success, roll back on any error."""
    session = SessionFactory(bind=engine or get_engine())
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: one transaction per request, committed when the handler returns.

    The engine follows the app's own settings (`app.state.settings`), so tests and embedded
    uses can run several apps on different databases in one process.

    `async`, unlike `session_scope`: making a session does no I/O, so it is made on the event
    loop, and only its end (commit or rollback, then handing the connection back) goes to a
    worker thread: one thread hop where a sync generator costs two, and none when the route
    already ended the transaction (`in_transaction`).
    """
    settings = getattr(request.app.state, "settings", None)
    session = SessionFactory(bind=get_engine(settings))
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _finish(session, commit=False)
        raise
    else:
        with anyio.CancelScope(shield=True):
            await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    if session.in_transaction():
        await run_in_threadpool(_end, session, commit=commit)
    else:
        session.close()  # nothing begun since the last commit: no I/O


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def in_transaction(session: Session, work: Callable[[], T]) -> T:
    """`work()` and then the commit (or, if it raises, the rollback), in one worker thread.

    For a route whose whole request is database work: it costs one thread hop instead of one
    for the work and one more for `get_session` to commit. The route's session is the request's
    (`SessionDep`), so the rule stands: services flush, only this module commits. As with
    `get_session`, a failed commit is an error response; the response is then only serialized
    from the models the service built and checked before the commit.
    """

    def run() -> T:
        try:
            result = work()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return result

    return await run_in_threadpool(run)


# scope="function": the commit runs before the response is sent, so a failed commit is an error
# response rather than a success the database never saw.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, built in code: works without alembic.ini and from any directory."""
    config = Config()
    # ConfigParser interpolates '%': escape it in the path.
    config.set_main_option("script_location", MIGRATIONS_DIR.as_posix().replace("%", "%%"))
    # Passed as an attribute, not an option: a password may contain '%' too.
    config.attributes["url"] = url or get_settings().effective_database_url
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` (default: the configured one) to the latest schema."""
    config = alembic_config(url)
    _check_reachable(config.attributes["url"])
    command.upgrade(config, "head")


def _check_reachable(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseSetupError(
            "db.unreachable",
            url=engine.url.render_as_string(hide_password=True),
            detail=str(exc.orig).strip(),
        ) from exc
    finally:
        engine.dispose()
