"""ReportObligation: one agency's duty to send one report, and its review by the lead office."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.agency import Agency
    from service.models.report_deadline import ReportDeadline


class ObligationStatus(enum.StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"  # sent back for changes; pending again for the agency
    WAIVED = "waived"


class ReportObligation(Base):
    __tablename__ = "report_obligations"
    __table_args__ = (
        UniqueConstraint("deadline_id", "agency_id"),
        # The reminder sweep: "pending/returned obligations due between X and Y" in one range
        # scan, without joining report_deadlines.
        Index("ix_report_obligations_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("report_deadlines.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    # Copied from the deadline (and kept equal by the service that moves a deadline).
    due_on: Mapped[date]
    status: Mapped[ObligationStatus] = mapped_column(
        str_enum(ObligationStatus, "obligation_status"), default=ObligationStatus.PENDING
    )
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    narrative: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    # Optimistic lock: a submission racing a review; the later write gets StaleDataError.
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    deadline: Mapped[ReportDeadline] = relationship(back_populates="obligations")
    agency: Mapped[Agency] = relationship()
