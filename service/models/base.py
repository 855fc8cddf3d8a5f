"""The declarative base every ORM class inherits: naming convention, UTC timestamps, JSON, enums."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

# Deterministic constraint names, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Long enough for every enum value we may add; a fixed length keeps `alembic check` quiet when
# a longer value is added later.
ENUM_LENGTH = 32


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC: the default for every `*_at` column."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no offset, so the value is stored as naive UTC and
    made aware again on the way out. Naive datetimes are refused: their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere. In-place mutation of a
# loaded value is not tracked: assign a new dict/list (or call `flag_modified`) to save a change.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def str_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A Python StrEnum stored as its *values* in a VARCHAR with a CHECK constraint.

    Not a native PostgreSQL ENUM: adding a value is then an ordinary constraint change that
    works the same on SQLite and PostgreSQL.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every `Mapped[datetime]` is an aware UTC timestamp, so none can be declared naive by mistake.
    type_annotation_map = {datetime: UTCDateTime()}
