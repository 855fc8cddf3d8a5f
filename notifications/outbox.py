"""The outbox: every e-mail is a row first (unique dedup key), then claimed, sent and marked.

- `enqueue` inserts with INSERT ... ON CONFLICT (dedup_key) DO NOTHING on both databases: a job
  that runs twice, or two schedulers at once, cannot queue the same e-mail twice.
- `claim` takes due rows for one sender: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
  senders get disjoint rows without waiting; SQLite has one writer at a time, so its single
  UPDATE ... RETURNING is atomic by itself. A claim is a lease: rows a sender claimed and never
  marked (it crashed) are claimable again after `outbox_claim_seconds`.
- `mark_sent` / `mark_failed` end a claim. Temporary failures come back with exponential backoff;
  permanent ones (and the last attempt) are failed, for an administrator to look at and retry.

Every message carries a Message-ID derived from its dedup key, so a copy sent twice (a crash
between the SMTP server's "250 OK" and our commit) is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.config import Settings
from service.models import Notification, NotificationStatus, UTCDateTime

PENDING = NotificationStatus.PENDING
SENDING = NotificationStatus.SENDING
SENT = NotificationStatus.SENT
FAILED = NotificationStatus.FAILED


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from the session: what a sender needs to send it."""

    id: int
    dedup_key: str
    kind: str
    recipient_email: str
    user_id: int | None
    subject: str
    body_text: str
    body_html: str | None
    message_id: str
    attempts: int


def message_id_for(dedup_key: str, *, sender: str) -> str:
    """A stable Message-ID: the same dedup key always gives the same header."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "dondoc.invalid"
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:40]
    return f"<{digest}.dondoc@{domain}>"


def insert_ignoring_duplicates(session: Session, model: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    raise NotImplementedError(dialect)


@dataclass(frozen=True)
class Message:
    """An e-mail to queue."""

    dedup_key: str
    recipient_email: str
    user_id: int | None
    kind: str
    subject: str
    body_text: str
    body_html: str | None


def enqueue_many(
    session: Session, messages: Sequence[Message], *, now: datetime, sender: str
) -> dict[str, int]:
    """Queue e-mails; {dedup_key: id} of those that were new (an existing key is skipped).

    One batched INSERT ... ON CONFLICT DO NOTHING: a digest run queues a thousand e-mails in a
    few statements rather than a thousand round trips.
    """
    if not messages:
        return {}
    table = Notification.__table__
    rows = [
        {
            "dedup_key": message.dedup_key,
            "recipient_email": message.recipient_email,
            "user_id": message.user_id,
            "kind": message.kind,
            "subject": message.subject,
            "body_text": message.body_text,
            "body_html": message.body_html,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "message_id": message_id_for(message.dedup_key, sender=sender),
            "created_at": now,
        }
        for message in messages
    ]
    statement = insert_ignoring_duplicates(session, table).returning(table.c.id, table.c.dedup_key)
    return {row.dedup_key: row.id for row in session.connection().execute(statement, rows)}


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    recipient_email: str,
    user_id: int | None,
    kind: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    now: datetime,
    sender: str,
) -> int | None:
    """Queue one e-mail; its id, or None when one with this dedup key already exists."""
    message = Message(dedup_key, recipient_email, user_id, kind, subject, body_text, body_html)
    return enqueue_many(session, [message], now=now, sender=sender).get(dedup_key)


def claim(
    session: Session, *, worker: str, now: datetime, limit: int, lease_seconds: int, sender: str
) -> list[Claimed]:
    """Claim up to `limit` due rows for `worker` (the caller commits at once)."""
    expired = now - timedelta(seconds=lease_seconds)
    due = or_(
        and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == SENDING, Notification.claimed_at < expired),
    )
    ids: Select[Any] = (
        select(Notification.id)
        .where(due)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Notification)
        .where(Notification.id.in_(ids.scalar_subquery()))
        .values(
            status=SENDING,
            claimed_at=now,
            claimed_by=worker,
            attempts=Notification.attempts + 1,
        )
        .returning(
            Notification.id,
            Notification.dedup_key,
            Notification.kind,
            Notification.recipient_email,
            Notification.user_id,
            Notification.subject,
            Notification.body_text,
            Notification.body_html,
            Notification.message_id,
            Notification.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    claimed = [
        Claimed(
            id=row.id,
            dedup_key=row.dedup_key,
            kind=row.kind,
            recipient_email=row.recipient_email,
            user_id=row.user_id,
            subject=row.subject,
            body_text=row.body_text,
            body_html=row.body_html,
            message_id=row.message_id or message_id_for(row.dedup_key, sender=sender),
            attempts=row.attempts,
        )
        for row in rows
    ]
    # Rows queued by other code (sign-in links) get their Message-ID now, with the claim.
    without = {row.id for row in rows if not row.message_id}
    for item in claimed:
        if item.id in without:
            session.execute(
                update(Notification)
                .where(Notification.id == item.id)
                .values(message_id=item.message_id)
                .execution_options(synchronize_session=False)
            )
    return sorted(claimed, key=lambda item: item.id)


def renew(
    session: Session | Connection, *, ids: Sequence[int], worker: str, now: datetime
) -> set[int]:
    """Extend `worker`'s lease on `ids`; the ids it still holds (others may have taken some)."""
    if not ids:
        return set()
    result = session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.status == SENDING,
            Notification.claimed_by == worker,
        )
        .values(claimed_at=now)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


# One fixed statement per database, so the driver prepares it once: the ORM's expanding IN
# made a new SQL string per batch size and cost several times the round trip itself.
_MARK_SENT = {
    "postgresql": "id = ANY(:ids)",
    "sqlite": "id IN (SELECT value FROM json_each(:ids))",
}


def mark_sent(
    session: Session | Connection, *, ids: Sequence[int], worker: str, now: datetime
) -> int:
    """Record deliveries; how many of `ids` were still `worker`'s (a claim whose lease ran out
    meanwhile may have been taken over)."""
    dialect = (
        session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    )
    statement = text(
        "UPDATE notifications SET status = :sent, sent_at = :now, last_error = NULL "
        f"WHERE {_MARK_SENT[dialect]} AND status = :sending AND claimed_by = :worker"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    result = session.execute(
        statement,
        {
            "ids": list(ids) if dialect == "postgresql" else json.dumps(list(ids)),
            "now": now,
            "worker": worker,
            "sent": SENT.value,
            "sending": SENDING.value,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retry_delay(attempts: int, *, settings: Settings) -> timedelta:
    """Exponential backoff: the first retry after `outbox_retry_seconds`, doubling, capped."""
    seconds = settings.outbox_retry_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.outbox_retry_max_seconds))


def mark_failed(
    session: Session | Connection,
    *,
    claimed: Claimed,
    worker: str,
    now: datetime,
    error: str,
    permanent: bool,
    settings: Settings,
) -> NotificationStatus:
    """Record a failed attempt: retried later (pending) or given up on (failed)."""
    give_up = permanent or claimed.attempts >= settings.outbox_max_attempts
    status = FAILED if give_up else PENDING
    values: dict[str, Any] = {"status": status, "last_error": error[:2000], "claimed_by": None}
    if not give_up:
        values["next_attempt_at"] = now + retry_delay(claimed.attempts, settings=settings)
    session.execute(
        update(Notification)
        .where(
            Notification.id == claimed.id,
            Notification.status == SENDING,
            Notification.claimed_by == worker,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return status


# --- For administrators ------------------------------------------------------------------------


def page(
    session: Session, *, status: NotificationStatus | None, limit: int, offset: int
) -> tuple[list[Notification], int]:
    condition = Notification.status == status if status is not None else None
    count = select(func.count()).select_from(Notification)
    rows = select(Notification).order_by(Notification.id.desc()).limit(limit).offset(offset)
    if condition is not None:
        count = count.where(condition)
        rows = rows.where(condition)
    return list(session.scalars(rows)), session.scalar(count) or 0


def get(session: Session, *, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def counts(session: Session) -> dict[str, int]:
    """How many e-mails in each status."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    found = {str(status.value): int(number) for status, number in rows}
    return {status.value: found.get(status.value, 0) for status in NotificationStatus}


def requeue(session: Session, *, notification: Notification, now: datetime) -> None:
    """Send a failed e-mail again, with a fresh set of attempts."""
    notification.status = PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.claimed_at = None
    notification.claimed_by = None
    session.flush()
