"""AgencyAlias: a spelling of an agency's name as plans write it ("Phòng LĐ-TB&XH")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base

if TYPE_CHECKING:
    from service.models.agency import Agency


class AgencyAlias(Base):
    __tablename__ = "agency_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    # As an administrator typed it, for display.
    alias: Mapped[str] = mapped_column(String(255))
    # The registry's folded form (case, tone placement, NFC/NFD, spacing). Unique, so one
    # spelling can never resolve to two agencies.
    folded_key: Mapped[str] = mapped_column(String(255), unique=True)

    agency: Mapped[Agency] = relationship(back_populates="aliases")
