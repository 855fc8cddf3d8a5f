"""AgencyGroupMember: one member of a collective body, e.g. each commune's UBND in "UBND các xã"."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base


class AgencyGroupMember(Base):
    __tablename__ = "agency_group_members"
    __table_args__ = (CheckConstraint("group_id <> member_id", name="not_self"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own for "which groups is this agency in?"; the primary key covers group_id.
    member_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True, index=True
    )
