"""ReportDeadline: one report a plan calls for ("báo cáo 6 tháng, trước ngày 10/6/2025")."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, str_enum

if TYPE_CHECKING:
    from service.models.plan import Plan
    from service.models.report_obligation import ReportObligation


class DeadlineSource(enum.StrEnum):
    PLAN = "plan"  # the plan states the date
    DEFAULT = "default"  # the deployment's default calendar filled it in


class ReportDeadline(Base):
    __tablename__ = "report_deadlines"
    # Activating a plan twice must not create the same report twice.
    __table_args__ = (UniqueConstraint("plan_id", "kind", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    # The extraction's report kind: semiannual, annual, period, ...
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[date]
    source: Mapped[DeadlineSource] = mapped_column(str_enum(DeadlineSource, "deadline_source"))

    plan: Mapped[Plan] = relationship(back_populates="deadlines")
    obligations: Mapped[list[ReportObligation]] = relationship(
        back_populates="deadline", cascade="all, delete-orphan", passive_deletes=True
    )
