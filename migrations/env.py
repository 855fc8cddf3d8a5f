"""Alembic environment: the URL from the caller or Settings, the metadata from service.models."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection

from service.config import get_settings
from service.database import make_engine
from service.models import Base, UTCDateTime

config = context.config
# Only the `alembic` command line has an ini file; the service keeps its own logging.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    """The caller's URL (upgrade_database, tests), else `alembic -x url=...`, else Settings."""
    url: str | None = config.attributes.get("url")
    if not url:
        url = context.get_x_argument(as_dictionary=True).get("url")
    return url or get_settings().effective_database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy types, so revisions never import model code.

    Alembic's own rendering of the JSON/JSONB variant names `Text` without its module.
    """
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **options,
    )


def run_migrations_offline() -> None:
    url = database_url()
    configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), pool_size=1)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                run_sqlite_migrations(connection)
            else:
                run_migrations(connection)
    finally:
        engine.dispose()


def run_migrations(connection: Connection, **options: Any) -> None:
    configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_sqlite_migrations(connection: Connection) -> None:
    """SQLite alters a table by copying it (batch mode). Dropping the old copy with foreign keys
    enforced would cascade-delete the rows that point at it, so they are off while migrating and
    checked afterwards."""
    # The pragma is ignored inside a transaction: run it and end the implicit one first.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        run_migrations(connection, render_as_batch=True)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:10]}")
    finally:
        connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
