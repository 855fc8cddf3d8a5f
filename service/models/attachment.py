"""Attachment: an evidence file on a status update or on a report submission."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, utcnow

if TYPE_CHECKING:
    from service.models.report_obligation import ReportObligation
    from service.models.status_update import StatusUpdate


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (
        # Exactly one owner.
        CheckConstraint("(status_update_id IS NULL) <> (obligation_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status_update_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_updates.id", ondelete="CASCADE"), index=True
    )
    obligation_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_obligations.id", ondelete="CASCADE"), index=True
    )
    # As uploaded, for display and download; never used as a path.
    original_filename: Mapped[str] = mapped_column(String(255))
    # The file's name in the upload store, chosen by the service.
    stored_name: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    status_update: Mapped[StatusUpdate | None] = relationship(back_populates="attachments")
    obligation: Mapped[ReportObligation | None] = relationship()
