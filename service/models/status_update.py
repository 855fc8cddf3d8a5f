"""StatusUpdate: one report of a task's state by a focal point. Append-only: the task's history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, str_enum, utcnow
from service.models.task import TaskState

if TYPE_CHECKING:
    from service.models.attachment import Attachment
    from service.models.task import Task


class StatusUpdate(Base):
    __tablename__ = "status_updates"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        Index("ix_status_updates_task_created", "task_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState, "task_state"))
    progress: Mapped[int]
    narrative: Mapped[str | None] = mapped_column(Text)
    blocked_reason: Mapped[str | None] = mapped_column(Text)

    task: Mapped[Task] = relationship(back_populates="updates")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="status_update", cascade="all, delete-orphan", passive_deletes=True
    )
