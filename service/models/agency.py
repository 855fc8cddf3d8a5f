"""Agency: a body plans assign work to (an office, a committee, a mass organisation, a group)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.agency_alias import AgencyAlias


class AgencyLevel(enum.StrEnum):
    CENTRAL = "central"
    PROVINCE = "province"
    # Abolished in 2025, but years of plans were issued at this level.
    DISTRICT = "district"
    COMMUNE = "commune"
    VILLAGE = "village"


class AgencyKind(enum.StrEnum):
    PEOPLE_COMMITTEE = "people_committee"  # UBND
    DEPARTMENT = "department"  # Sở, Phòng, Ban: bodies the committee commands
    MASS_ORGANISATION = "mass_organisation"  # MTTQ, Hội, Đoàn: asked ("Đề nghị"), not ordered
    PUBLIC_SERVICE = "public_service"  # schools, health centres, other public units
    OFFICIAL = "official"  # a post, e.g. "Công chức Lao động - Thương binh và Xã hội"
    OTHER = "other"


class Agency(Base):
    """One body in the registry. A group ("UBND các xã, thị trấn") fans out to its members."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The canonical name; spellings seen in plans are AgencyAlias rows.
    name: Mapped[str] = mapped_column(String(255), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[AgencyLevel] = mapped_column(str_enum(AgencyLevel, "agency_level"))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, "agency_kind"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="SET NULL"), index=True
    )
    is_group: Mapped[bool] = mapped_column(default=False)
    head_email: Mapped[str | None] = mapped_column(String(320))
    # Agencies are retired, never deleted: old plans and reports still point at them.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id])
    aliases: Mapped[list[AgencyAlias]] = relationship(
        back_populates="agency", cascade="all, delete-orphan", passive_deletes=True
    )
    members: Mapped[list[Agency]] = relationship(
        secondary="agency_group_members",
        primaryjoin="Agency.id == AgencyGroupMember.group_id",
        secondaryjoin="Agency.id == AgencyGroupMember.member_id",
        order_by="Agency.name",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"Agency(id={self.id!r}, name={self.name!r})"
