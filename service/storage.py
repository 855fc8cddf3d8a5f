"""Uploaded files kept on disk under the data directory, named by the service, checked by sha256.

A file is written before the database row that points at it is committed. So that a failed
request leaves nothing behind, `save` registers the file with the session: if the transaction
rolls back, the file is removed; once it commits, the file stays. `remove_after_commit` is the
mirror image for deleting a row's file (the file goes only if the delete really committed).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from service.config import Settings
from service.errors import AppError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

# Keys in `Session.info`: paths to remove when the transaction ends one way or the other.
_ON_ROLLBACK = "dondoc.storage.remove_on_rollback"
_ON_COMMIT = "dondoc.storage.remove_on_commit"
_HOOKED = "dondoc.storage.hooked"


@dataclass(frozen=True)
class StoredFile:
    # Relative to the data directory, POSIX separators: what a database row keeps.
    path: str
    sha256: str
    size: int


def limit_bytes(settings: Settings) -> int:
    return settings.max_upload_mb * 1024 * 1024


def check_size(size: int, *, settings: Settings) -> None:
    """Refuse a file over `max_upload_mb` with 413 and both sizes in MB."""
    limit = limit_bytes(settings)
    if size > limit:
        raise AppError(
            "storage.too_large",
            status=413,
            details={"size": size, "limit": limit},
            size_mb=_megabytes(size),
            limit_mb=settings.max_upload_mb,
        )


def read_limited(stream: BinaryIO, *, settings: Settings) -> bytes:
    """The whole of `stream`, refused with 413 as soon as it passes the limit (never all read)."""
    limit = limit_bytes(settings)
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(CHUNK_BYTES, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            # The real size is unknown (we stopped reading): report what we know.
            check_size(size, settings=settings)
    return b"".join(chunks)


def save(
    session: Session, data: bytes, *, settings: Settings, folder: str, suffix: str = ""
) -> StoredFile:
    """Write `data` under `data_dir/folder/`, verified, and removed again if `session` rolls back.

    The name is the content's sha256 plus a random part (never the uploaded name), so two
    uploads racing with the same content never share a file that one of them might remove.
    """
    check_size(len(data), settings=settings)
    digest = hashlib.sha256(data).hexdigest()
    relative = PurePosixPath(folder, digest[:2], f"{digest}-{secrets.token_hex(4)}{suffix}")
    target = resolve(relative.as_posix(), settings=settings)
    partial = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)
    except OSError as exc:
        _unlink_quietly(partial)
        raise _disk_error(exc) from exc
    stored = StoredFile(path=relative.as_posix(), sha256=digest, size=len(data))
    try:
        _verify(target, stored)
    except AppError:
        _unlink_quietly(target)
        raise
    _watch(session, _ON_ROLLBACK, target)
    return stored


def remove_after_commit(session: Session, relative: str, *, settings: Settings) -> None:
    """Delete the file at `relative` once `session` commits (kept if it rolls back)."""
    _watch(session, _ON_COMMIT, resolve(relative, settings=settings))


def resolve(relative: str, *, settings: Settings) -> Path:
    """The absolute path of a stored file; refuses anything that would leave the data directory."""
    root = settings.data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise AppError("storage.bad_path", status=500)
    return path


def read(relative: str, *, settings: Settings) -> bytes:
    """A stored file's bytes; 404 when it is missing, 500 when the disk cannot be read."""
    path = resolve(relative, settings=settings)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AppError("storage.missing", status=404) from None
    except OSError as exc:
        raise _disk_error(exc) from exc


def _verify(path: Path, stored: StoredFile) -> None:
    # Read back what landed on disk: a short write or a failing disk must not pass silently.
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise _disk_error(exc) from exc
    if size != stored.size or digest.hexdigest() != stored.sha256:
        raise AppError("storage.corrupt", status=500)


def _disk_error(exc: OSError) -> AppError:
    logger.error("storage error: %s", exc)
    if exc.errno in _DISK_FULL:
        return AppError("storage.disk_full", status=507)
    return AppError("storage.unavailable", status=503, detail=exc.strerror or str(exc))


def _megabytes(size: int) -> str:
    # Rounded up with a decimal comma, so a file just over the limit never reads as equal to it.
    tenths = math.ceil(size * 10 / (1024 * 1024))
    whole, fraction = divmod(tenths, 10)
    return f"{whole},{fraction}" if fraction else str(whole)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        # The transaction's outcome stands; a leftover file is only wasted space.
        logger.warning("could not remove %s: %s", path, exc)


# --- tying files to the transaction -------------------------------------------------------------


def _watch(session: Session, key: str, path: Path) -> None:
    # Begin the transaction now if nothing has yet: a rollback of a session that never began
    # one fires no event, and the file would be left behind.
    session.connection()
    session.info.setdefault(key, []).append(path)
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_soft_rollback)


def _drain(session: Session, key: str, action: Callable[[Path], Any]) -> None:
    for path in session.info.pop(key, []):
        action(path)


def _after_commit(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _drain(session, _ON_COMMIT, _unlink_quietly)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost transaction decides; a savepoint rolling back changes nothing on disk.
    if previous_transaction.parent is not None:
        return
    session.info.pop(_ON_COMMIT, None)
    _drain(session, _ON_ROLLBACK, _unlink_quietly)
