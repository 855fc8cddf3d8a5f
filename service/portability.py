"""A whole deployment as one JSON-lines file: `dondoc export FILE` and `dondoc import FILE`.

The file, one JSON object per line (gzip-compressed when its name ends in ".gz"):

    {"format": "dondoc-export", "version": 1, "revision": "0002_…", "exported_at": "…", …}
    {"table": "agencies", "row": {"id": 1, "name": "Phòng Y tế", …}}      every row of every
    …                                                                    table, in foreign-key
    {"file": "evidence/ab/ab12….pdf", "sha256": "…", "size": 123, "data": "<base64>"}
    …                                                                    every uploaded file
    {"end": {"rows": {"agencies": 12, …}, "files": 3, "missing_files": []}}

The header names the schema revision; the last line counts what came before, so a truncated
file is refused rather than half-imported. The export reads one snapshot (REPEATABLE READ on
PostgreSQL, one read transaction on SQLite), so it can run while the service runs.

An import goes into an empty database at the same revision, in one transaction: rows keep their
ids (sequences are moved past them on PostgreSQL), files are checked by sha256 and written under
the data directory, and on any error nothing is written and no file is left behind.
"""

from __future__ import annotations

import base64
import binascii
import enum
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BufferedIOBase
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, Engine, Enum, Table, func, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import JSON, Date, DateTime, LargeBinary, TypeDecorator, TypeEngine

from service import __version__
from service.config import Settings
from service.evidence import EVIDENCE_DIR
from service.i18n import t
from service.models import Base

FORMAT = "dondoc-export"
VERSION = 1
# Rows are inserted this many at a time.
BATCH = 500
_GZIP_MAGIC = b"\x1f\x8b"

# Uploaded files live on disk, named by rows: (table, column, folder under the data directory).
FILE_COLUMNS = (("plans", "source_path", ""), ("attachments", "stored_name", EVIDENCE_DIR))


class PortabilityError(Exception):
    """An export or import that cannot go on. `code` for programs, `message` for people;
    `user_error`: the operator can fix it (a wrong file, a database that is not empty)."""

    def __init__(self, code: str, *, user_error: bool = True, **params: Any) -> None:
        self.code = code
        self.params = params
        self.user_error = user_error
        self.message = t(code, **params)
        super().__init__(self.message)


@dataclass
class Summary:
    """What an export wrote or an import loaded."""

    revision: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    missing_files: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def tables() -> list[Table]:
    """Every table, parents before children."""
    return list(Base.metadata.sorted_tables)


def database_revision(connection: Connection) -> str | None:
    """The schema revision Alembic recorded; None for a database never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return ", ".join(sorted(str(revision) for revision in revisions)) or None


# --- Export -------------------------------------------------------------------------------------


def export_deployment(
    engine: Engine, target: Path, *, settings: Settings, now: datetime
) -> Summary:
    """Write the deployment to `target` (through a temporary file renamed at the end, so a
    failed export never leaves a file that looks complete)."""
    partial = target.with_name(target.name + ".part")
    try:
        with _open_for_writing(partial) as out:
            summary = _export(engine, out, settings=settings, now=now)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise PortabilityError(
            "portability.cannot_write", path=target, detail=error.strerror or error
        ) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def _open_for_writing(path: Path) -> BufferedIOBase:
    if path.name.removesuffix(".part").endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=6)
    return path.open("wb")


def _export(engine: Engine, out: BufferedIOBase, *, settings: Settings, now: datetime) -> Summary:
    with _snapshot(engine) as connection:
        revision = database_revision(connection)
        if revision is None:
            raise PortabilityError("portability.not_migrated")
        summary = Summary(revision=revision)
        _write_line(
            out,
            {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "dondoc": __version__,
                "dialect": engine.dialect.name,
                "exported_at": now.astimezone(UTC).isoformat(),
            },
        )
        stored: list[str] = []
        file_columns = {(table, column): folder for table, column, folder in FILE_COLUMNS}
        for table in tables():
            count = 0
            result = connection.execute(
                select(table)
                .order_by(*table.primary_key.columns)
                .execution_options(yield_per=BATCH)
            )
            for row in result.mappings():
                _write_line(out, {"table": table.name, "row": dict(row)})
                count += 1
                for (name, column), folder in file_columns.items():
                    if name == table.name and row[column]:
                        stored.append(PurePosixPath(folder, row[column]).as_posix())
            summary.rows[table.name] = count
    for relative in stored:
        if _export_file(out, relative, settings=settings):
            summary.files += 1
        else:
            summary.missing_files.append(relative)
    _write_line(
        out,
        {
            "end": {
                "rows": summary.rows,
                "files": summary.files,
                "missing_files": summary.missing_files,
            }
        },
    )
    return summary


class _snapshot:
    """One connection reading one consistent state of every table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        options: dict[str, Any] = {}
        if self.engine.dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        self.connection = self.engine.connect().execution_options(**options)
        self.transaction = self.connection.begin()
        if self.engine.dialect.name == "sqlite":
            # pysqlite opens no transaction for reads: without this BEGIN each table would be
            # read at its own moment. In WAL mode the first read fixes the snapshot.
            self.connection.exec_driver_sql("BEGIN")
        return self.connection

    def __exit__(self, *_exc: object) -> None:
        self.transaction.rollback()
        self.connection.close()


def _export_file(out: BufferedIOBase, relative: str, *, settings: Settings) -> bool:
    path = _resolve(relative, settings=settings)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    _write_line(
        out,
        {
            "file": relative,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "data": base64.b64encode(data).decode("ascii"),
        },
    )
    return True


def _write_line(out: BufferedIOBase, entry: dict[str, Any]) -> None:
    out.write(json.dumps(entry, ensure_ascii=False, default=_encode).encode("utf-8"))
    out.write(b"\n")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot export a {type(value).__name__}")


# --- Import -------------------------------------------------------------------------------------


def import_deployment(engine: Engine, source: Path, *, settings: Settings) -> Summary:
    """Load an export into the empty database of `engine` and the data directory."""
    try:
        stream = _open_for_reading(source)
    except FileNotFoundError:
        raise PortabilityError("portability.not_found", path=source) from None
    except OSError as error:
        raise PortabilityError(
            "portability.unreadable", path=source, detail=error.strerror or error
        ) from error
    written: list[Path] = []
    try:
        with stream, engine.begin() as connection:
            return _Importer(connection, settings=settings, written=written).run(stream)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _open_for_reading(path: Path) -> BufferedIOBase:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")


class _Importer:
    def __init__(self, connection: Connection, *, settings: Settings, written: list[Path]) -> None:
        self.connection = connection
        self.settings = settings
        self.written = written
        self.tables = {table.name: table for table in tables()}
        self.order = {name: position for position, name in enumerate(self.tables)}
        self.loaded: dict[str, int] = {}
        self.files = 0
        self.current: Table | None = None
        self.batch: list[dict[str, Any]] = []
        # Rows that point at rows of their own table (a parent agency, a parent plan) are
        # inserted without that link, which is set once the whole table is in.
        self.links: list[tuple[Table, str, Any, dict[str, Any]]] = []

    def run(self, stream: BufferedIOBase) -> Summary:
        lines = self._lines(stream)
        try:
            header = next(lines, None)
        except PortabilityError:
            header = None  # the first line is not JSON: some other file
        if header is None:
            raise PortabilityError("portability.not_an_export")
        summary = self._check_header(*header)
        for number, entry in lines:
            if "table" in entry:
                self._row(number, entry)
            elif "file" in entry:
                self._flush()
                self._file(number, entry)
            elif "end" in entry:
                self._flush()
                self._check_end(number, entry["end"])
                self._finish()
                summary.rows = {name: self.loaded.get(name, 0) for name in self.tables}
                summary.files = self.files
                missing = entry["end"].get("missing_files") or []
                summary.missing_files = [str(path) for path in missing]
                if next(lines, None) is not None:
                    raise PortabilityError("portability.after_end", line=number + 1)
                return summary
            else:
                raise PortabilityError("portability.bad_line", line=number)
        raise PortabilityError("portability.truncated")

    def _lines(self, stream: BufferedIOBase) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    raise PortabilityError("portability.bad_line", line=number) from None
                if not isinstance(entry, dict):
                    raise PortabilityError("portability.bad_line", line=number)
                yield number, entry
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            # A damaged or cut-off gzip stream.
            raise PortabilityError("portability.truncated") from error

    def _check_header(self, number: int, header: dict[str, Any]) -> Summary:
        if header.get("format") != FORMAT:
            raise PortabilityError("portability.not_an_export")
        if header.get("version") != VERSION:
            raise PortabilityError("portability.bad_version", version=header.get("version"))
        theirs = str(header.get("revision"))
        ours = database_revision(self.connection)
        if ours is None:
            raise PortabilityError("portability.not_migrated")
        if ours != theirs:
            raise PortabilityError("portability.other_revision", theirs=theirs, ours=ours)
        for table in self.tables.values():
            if self.connection.execute(select(1).select_from(table).limit(1)).first():
                raise PortabilityError("portability.not_empty", table=table.name)
        return Summary(revision=theirs)

    def _row(self, number: int, entry: dict[str, Any]) -> None:
        table = self.tables.get(str(entry["table"]))
        row = entry.get("row")
        if table is None or not isinstance(row, dict):
            raise PortabilityError("portability.bad_line", line=number)
        if table is not self.current:
            self._flush()
            self._finish_links()
            if self.current is not None and self.order[table.name] < self.order[self.current.name]:
                raise PortabilityError("portability.bad_order", line=number, table=table.name)
            self.current = table
        # The same revision has the same columns: anything else is not our export.
        if set(row) != set(table.columns.keys()):
            raise PortabilityError("portability.columns", line=number, table=table.name)
        try:
            values = {name: _decoder(table.c[name].type)(value) for name, value in row.items()}
        except (ValueError, TypeError, binascii.Error):
            raise PortabilityError("portability.bad_value", line=number) from None
        for column in _self_references(table):
            if values.get(column) is not None:
                key = {c.name: values[c.name] for c in table.primary_key.columns}
                self.links.append((table, column, values[column], key))
                values[column] = None
        self.batch.append(values)
        self.loaded[table.name] = self.loaded.get(table.name, 0) + 1
        if len(self.batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.batch or self.current is None:
            return
        try:
            self.connection.execute(self.current.insert(), self.batch)
        except SQLAlchemyError as error:
            raise PortabilityError(
                "portability.rejected", table=self.current.name, detail=_first_line(error)
            ) from error
        self.batch = []

    def _finish_links(self) -> None:
        for table, column, value, key in self.links:
            condition = [table.c[name] == part for name, part in key.items()]
            try:
                self.connection.execute(update(table).where(*condition).values({column: value}))
            except SQLAlchemyError as error:
                raise PortabilityError(
                    "portability.rejected", table=table.name, detail=_first_line(error)
                ) from error
        self.links = []

    def _file(self, number: int, entry: dict[str, Any]) -> None:
        try:
            data = base64.b64decode(str(entry["data"]), validate=True)
        except (KeyError, binascii.Error):
            raise PortabilityError("portability.bad_line", line=number) from None
        relative = str(entry["file"])
        if len(data) != entry.get("size") or hashlib.sha256(data).hexdigest() != entry.get(
            "sha256"
        ):
            raise PortabilityError("portability.file_damaged", line=number, path=relative)
        target = _resolve(relative, settings=self.settings)
        partial = target.with_name(target.name + ".part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise PortabilityError(
                "portability.cannot_store",
                user_error=False,
                path=target,
                detail=error.strerror or error,
            ) from error
        self.written.append(target)
        self.files += 1

    def _check_end(self, number: int, end: Any) -> None:
        if not isinstance(end, dict) or not isinstance(end.get("rows"), dict):
            raise PortabilityError("portability.bad_line", line=number)
        expected = {name: int(count) for name, count in end["rows"].items() if count}
        if expected != {name: count for name, count in self.loaded.items() if count}:
            raise PortabilityError("portability.truncated")
        if end.get("files") != self.files:
            raise PortabilityError("portability.truncated")

    def _finish(self) -> None:
        self._finish_links()
        if self.connection.dialect.name == "postgresql":
            # Rows came with their ids: new rows must be numbered after them.
            for table in self.tables.values():
                key = list(table.primary_key.columns)
                if len(key) == 1 and key[0].autoincrement is not False and key[0].name == "id":
                    self.connection.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                            f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                        ),
                        {"table": table.name},
                    )


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _decoder(column_type: TypeEngine[Any]) -> Callable[[Any], Any]:
    """Turns a JSON value back into what the column takes."""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, JSON):
        return _same
    if isinstance(column_type, DateTime):
        return _optional(datetime.fromisoformat)
    if isinstance(column_type, Date):
        return _optional(date.fromisoformat)
    if isinstance(column_type, LargeBinary):
        return _optional(lambda value: base64.b64decode(value, validate=True))
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return _optional(column_type.enum_class)
    return _same


def _same(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _resolve(relative: str, *, settings: Settings) -> Path:
    """A path under the data directory; a path leading out of it is a damaged file."""
    root = settings.data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise PortabilityError("portability.bad_path", path=relative)
    return path


def _first_line(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table (for the CLI's summary and tests)."""
    return {
        table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
        for table in tables()
    }
