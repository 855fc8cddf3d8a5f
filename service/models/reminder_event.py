"""ReminderEvent: one reminder or escalation one recipient is due, before it becomes an e-mail.

The sweep inserts one row per (item, deadline, cycle, step, recipient) under a unique dedup key,
so running it again cannot remind anyone twice. The digest then gathers a recipient's queued
rows into one Notification (the outbox) and points them at it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, str_enum, utcnow
from service.models.task import Task


class ReminderEventState(enum.StrEnum):
    QUEUED = "queued"  # waiting for the recipient's digest (or the next dispatch if immediate)
    BATCHED = "batched"  # part of `notification_id`
    DROPPED = "dropped"  # no longer worth sending (submitted, done, paused, superseded)


class ReminderEvent(Base):
    __tablename__ = "reminder_events"
    __table_args__ = (
        CheckConstraint("(obligation_id IS NULL) <> (task_id IS NULL)", name="one_item"),
        # The digest: "queued rows of this recipient".
        Index("ix_reminder_events_state_recipient", "state", "recipient_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "obligation:42:2024-06-10:c0:d-3:<recipient hash>"; see notifications/jobs.py.
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    recipient_email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # notifications.policy.Audience
    audience: Mapped[str] = mapped_column(String(32))
    obligation_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_obligations.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    # "d-3", "d0", "e+1", "r2": notifications.policy.Step.name
    step: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date]
    # The day (Asia/Ho_Chi_Minh) the sweep found it due.
    fire_on: Mapped[date]
    # Sent on its own rather than in the daily digest.
    immediate: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ReminderEventState] = mapped_column(
        str_enum(ReminderEventState, "reminder_event_state"), default=ReminderEventState.QUEUED
    )
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The sweep's range scan over task due dates ("open tasks due between X and Y"): without it the
# sweep reads every task. It belongs to the tasks table but is declared here, next to its only
# user, so the tasks model stays as its owner wrote it.
Index("ix_tasks_due_on_state", Task.due_on, Task.state)
