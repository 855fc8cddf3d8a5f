"""Evidence files (minh chứng) on status updates and report submissions: checked, then stored.

A file is accepted for what it *is*, not for what it is called: its type is sniffed from its bytes
(PDF, Word .docx, Excel .xlsx, JPEG, PNG, UTF-8 text), its size is counted while it is read, and
its name is only ever a label. Files live in `data_dir/evidence/` under a random name the service
chooses; the uploaded name is shown and offered on download, never used as a path.

Two steps, so a bad file writes nothing: `check_files()` reads and judges every file first,
`save_attachments()` writes them with their rows. Files written in a transaction that is rolled
back (a conflict, a failed insert, a full disk on the third file) are deleted again.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session

from service.errors import AppError
from service.models import Attachment

logger = logging.getLogger(__name__)

EVIDENCE_DIR = "evidence"
# More than a report needs; keeps one request from spooling hundreds of files to disk.
MAX_FILES = 10
_CHUNK = 1 << 16
# Room for the stem; the extension is added after it. Names are labels, not paths.
_MAX_STEM = 200

# Extension -> content type of every accepted kind.
KINDS: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "png": "image/png",
    "txt": "text/plain; charset=utf-8",
}
# Extensions a name may carry that are replaced by the sniffed one ("ảnh.jpeg" -> "ảnh.jpg").
_KNOWN_EXTENSIONS = set(KINDS) | {"jpeg", "jpe", "text", "doc", "xls", "docm", "xlsm"}
# Control characters that make "text" binary: all C0 and C1 controls but tab, newlines, form feed.
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file as the service sees it: the name the client gave and a seekable stream."""

    filename: str | None
    stream: BinaryIO


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, with what the checks found out."""

    stream: BinaryIO
    display_name: str
    extension: str
    content_type: str
    size_bytes: int
    sha256: str


def check_files(files: Sequence[IncomingFile], *, max_upload_mb: int) -> list[CheckedFile]:
    """Judge every file (count, name, size, type) before anything is written.

    Raises AppError: `evidence.too_many`, `evidence.bad_name`, `evidence.empty`,
    `evidence.too_large` (413), `evidence.not_allowed` (415).
    """
    if len(files) > MAX_FILES:
        raise AppError("evidence.too_many", status=400, limit=MAX_FILES)
    return [_check(file, max_bytes=max_upload_mb * 1024 * 1024) for file in files]


def _check(file: IncomingFile, *, max_bytes: int) -> CheckedFile:
    label = _validated_name(file.filename)
    size, digest = _measure(file.stream, label=label, max_bytes=max_bytes)
    if size == 0:
        raise AppError("evidence.empty", status=400, name=label)
    extension = _sniff(file.stream)
    if extension is None:
        raise AppError(
            "evidence.not_allowed",
            status=415,
            name=label,
            allowed=", ".join(f".{kind}" for kind in KINDS),
        )
    return CheckedFile(
        stream=file.stream,
        display_name=_display_name(label, extension),
        extension=extension,
        content_type=KINDS[extension],
        size_bytes=size,
        sha256=digest,
    )


def _validated_name(filename: str | None) -> str:
    """The uploaded name, NFC and trimmed; refused when it tries to be a path or hides text.

    Browsers send a bare file name: a name with a directory part ("../../etc/passwd",
    "C:\\Users\\x.pdf") or with control or bidirectional-override characters comes from a broken
    or hostile client, and is refused rather than guessed at.
    """
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        return "minh-chung"
    hostile = (
        "/" in name
        or "\\" in name
        or name.strip(".") == ""
        or any(unicodedata.category(char) in ("Cc", "Cf") for char in name)
    )
    if hostile:
        raise AppError("evidence.bad_name", status=400, details={"filename": filename})
    return name


def _display_name(name: str, extension: str) -> str:
    """The name shown and offered on download: its stem, then the extension of what it really is."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix.lower() not in _KNOWN_EXTENSIONS or not stem.strip(". "):
        stem = name
    stem = stem.strip(" .")[:_MAX_STEM].rstrip(" .") or "minh-chung"
    return f"{stem}.{extension}"


def _measure(stream: BinaryIO, *, label: str, max_bytes: int) -> tuple[int, str]:
    """Size and SHA-256, reading no further than one byte past the limit."""
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise AppError(
                "evidence.too_large", status=413, name=label, limit_mb=max_bytes // (1024 * 1024)
            )
        digest.update(chunk)
    return size, digest.hexdigest()


def _sniff(stream: BinaryIO) -> str | None:
    """The accepted kind the bytes are, or None."""
    stream.seek(0)
    head = stream.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(stream)
    return "txt" if _is_utf8_text(stream) else None


def _office_kind(stream: BinaryIO) -> str | None:
    """docx or xlsx by the parts inside the zip (read from its directory, nothing unpacked).

    Macro-enabled documents (.docm, .xlsm, renamed or not) are not evidence and are refused.
    """
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names or any(n.endswith("vbaProject.bin") for n in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _is_utf8_text(stream: BinaryIO) -> bool:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        while chunk := stream.read(_CHUNK):
            if not _printable(decoder.decode(chunk)):
                return False
        return _printable(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False


def _printable(text: str) -> bool:
    return _BINARY_CONTROLS.search(text) is None


# --- Storage ------------------------------------------------------------------------------------


def evidence_root(data_dir: Path) -> Path:
    return data_dir / EVIDENCE_DIR


def attachment_path(data_dir: Path, attachment: Attachment) -> Path:
    """Where an attachment's bytes are. The stored name is ours, but check it anyway."""
    root = evidence_root(data_dir).resolve()
    path = (root / attachment.stored_name).resolve()
    if not path.is_relative_to(root):
        raise AppError("attachment.not_found", status=404)
    return path


def save_attachments(
    session: Session,
    *,
    data_dir: Path,
    files: Sequence[CheckedFile],
    status_update_id: int | None = None,
    obligation_id: int | None = None,
) -> list[Attachment]:
    """Write checked files and add one Attachment row each, owned by an update or a report.

    A failed write removes what this call wrote and raises `evidence.disk_full` (507) or
    `evidence.storage_failed` (500). Files stay only if the transaction commits.
    """
    root = evidence_root(data_dir)
    written: list[Path] = []
    rows: list[Attachment] = []
    try:
        for file in files:
            token = secrets.token_hex(16)
            stored_name = f"{token[:2]}/{token}.{file.extension}"
            path = root / stored_name
            written.append(path)
            _write(file.stream, path)
            rows.append(
                Attachment(
                    status_update_id=status_update_id,
                    obligation_id=obligation_id,
                    original_filename=file.display_name,
                    stored_name=stored_name,
                    content_type=file.content_type,
                    size_bytes=file.size_bytes,
                    sha256=file.sha256,
                )
            )
    except OSError as exc:
        _remove(written)
        logger.exception("cannot store evidence under %s", root)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise AppError("evidence.disk_full", status=507) from exc
        raise AppError("evidence.storage_failed", status=500) from exc
    _remove_on_rollback(session, written)
    session.add_all(rows)
    session.flush()
    return rows


def _write(stream: BinaryIO, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stream.seek(0)
    # "x": never replace a file, even if a random name ever repeated.
    with path.open("xb") as target:
        shutil.copyfileobj(stream, target, _CHUNK)
        target.flush()
        os.fsync(target.fileno())


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.exception("cannot remove evidence file %s", path)


_PENDING_KEY = "evidence.uncommitted_files"


def _remove_on_rollback(session: Session, paths: list[Path]) -> None:
    """Delete `paths` if the session's transaction rolls back; keep them once it commits."""
    pending: list[Path] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _forget_pending)
        event.listen(session, "after_rollback", _remove_pending)
    pending.extend(paths)


def _forget_pending(session: Session) -> None:
    session.info[_PENDING_KEY] = []


def _remove_pending(session: Session) -> None:
    _remove(session.info.get(_PENDING_KEY, []))
    session.info[_PENDING_KEY] = []
