"""Notification: the e-mail outbox. A row is inserted (dedup key unique) before it is sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, str_enum, utcnow


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt


class Notification(Base):
    __tablename__ = "notifications"
    # The sender's poll: "pending, due now", oldest first.
    __table_args__ = (Index("ix_notifications_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names the event, e.g. "reminder:obligation:42:d-3"; a second insert for the same event
    # fails, so a re-run job can never send the same reminder twice.
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    recipient_email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The Message-ID header we sent, to match bounces and replies.
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
