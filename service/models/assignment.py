"""Assignment: one numbered block of TỔ CHỨC THỰC HIỆN, naming one or more bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base

if TYPE_CHECKING:
    from service.models.plan import Plan
    from service.models.task import Task


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    # As printed: "1", "a", "3.2".
    ordinal: Mapped[str] = mapped_column(String(16))
    heading: Mapped[str] = mapped_column(Text)
    # "Đề nghị ...": a request to bodies the issuer does not command (MTTQ, mass organisations).
    is_request: Mapped[bool] = mapped_column(default=False)
    # The block of the standing (lead) agency.
    is_lead: Mapped[bool] = mapped_column(default=False)
    # Order within the plan, 0-based; ordinals alone do not sort ("a" after "9").
    position: Mapped[int]

    plan: Mapped[Plan] = relationship(back_populates="assignments")
    tasks: Mapped[list[Task]] = relationship(back_populates="assignment", passive_deletes=True)
