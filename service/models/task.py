"""Task: one duty of one agency under a plan, with its state and progress."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, JSONType, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.agency import Agency
    from service.models.assignment import Assignment
    from service.models.plan import Plan
    from service.models.status_update import StatusUpdate


class TaskRole(enum.StrEnum):
    CHU_TRI = "chu_tri"  # leads the task
    PHOI_HOP = "phoi_hop"  # supports the lead
    THUC_HIEN = "thuc_hien"  # carries it out


class TaskState(enum.StrEnum):
    CHUA_TRIEN_KHAI = "chua_trien_khai"  # not started
    DANG_THUC_HIEN = "dang_thuc_hien"  # in progress
    HOAN_THANH = "hoan_thanh"  # done
    GAP_VUONG_MAC = "gap_vuong_mac"  # blocked


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        # A focal point's list: my agency's tasks by state, soonest due first.
        Index("ix_tasks_agency_state_due", "agency_id", "state", "due_on"),
        # The plan dashboard: one plan's tasks counted by agency, state and dates, from the
        # index alone (migration 0003).
        Index(
            "ix_tasks_plan_agency_state",
            "plan_id",
            "agency_id",
            "state",
            "due_on",
            "completed_on",
            "progress",
        ),
        # A plan's tasks due before a day (its overdue list and count), ids included so a page
        # is found without reading the rows.
        Index("ix_tasks_plan_due", "plan_id", "due_on", "state", "completed_on", "agency_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Denormalised from the assignment so the dashboard reads one table.
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    # A concrete agency: a group assignment becomes one task per member.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    text: Mapped[str] = mapped_column(Text)
    role: Mapped[TaskRole] = mapped_column(str_enum(TaskRole, "task_role"))
    # Other bodies named in the task ("phối hợp với ..."), as written.
    co_agencies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    due_on: Mapped[date | None]
    state: Mapped[TaskState] = mapped_column(
        str_enum(TaskState, "task_state"), default=TaskState.CHUA_TRIEN_KHAI
    )
    progress: Mapped[int] = mapped_column(default=0)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None]
    # Optimistic lock: two people saving the same task; the second gets StaleDataError.
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    assignment: Mapped[Assignment] = relationship(back_populates="tasks")
    agency: Mapped[Agency] = relationship()
    updates: Mapped[list[StatusUpdate]] = relationship(
        back_populates="task",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StatusUpdate.created_at",
    )

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, agency_id={self.agency_id!r}, state={self.state!r})"
