"""Plan: one uploaded Kế hoạch, from draft (under review) to active (tracked) to closed."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, JSONType, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.assignment import Assignment
    from service.models.report_deadline import ReportDeadline
    from service.models.task import Task


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class SourceFormat(enum.StrEnum):
    TXT = "txt"
    DOCX = "docx"
    PDF = "pdf"


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(
            "start_year IS NULL OR end_year IS NULL OR start_year <= end_year", name="year_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Metadata may be missing in a draft (the parser could not find it); review fills it in.
    title: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(255))
    issued_on: Mapped[date | None]
    start_year: Mapped[int | None]
    end_year: Mapped[int | None]
    status: Mapped[PlanStatus] = mapped_column(
        str_enum(PlanStatus, "plan_status"), default=PlanStatus.DRAFT, index=True
    )
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    report_to_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # A plan that implements a higher-level one (a commune's plan under the district's).
    parent_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", ondelete="SET NULL"), index=True
    )
    source_filename: Mapped[str] = mapped_column(String(255))
    source_format: Mapped[SourceFormat] = mapped_column(
        str_enum(SourceFormat, "plan_source_format")
    )
    # The same file uploaded twice is the same plan.
    source_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Where the original file is kept, relative to the data directory.
    source_path: Mapped[str | None] = mapped_column(String(512))
    # The parser's PlanExtraction (plan-extraction/1) as JSON; review edits it before activation.
    extraction: Mapped[dict[str, Any]] = mapped_column(JSONType)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Assignment.position",
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )
    deadlines: Mapped[list[ReportDeadline]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReportDeadline.due_on",
    )

    def __repr__(self) -> str:
        return f"Plan(id={self.id!r}, number={self.number!r}, status={self.status!r})"
