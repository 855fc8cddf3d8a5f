"""PlanReminderPolicy: one plan's deviations from the deployment's reminder policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, utcnow


class PlanReminderPolicy(Base):
    """Every column None keeps the deployment's setting (see notifications/policy.py)."""

    __tablename__ = "plan_reminder_policies"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    # Same text forms as the settings: "7,3,1" and "1=focal_point+agency_head,3=lead_office".
    reminder_days: Mapped[str | None] = mapped_column(String(64))
    on_the_day: Mapped[bool | None]
    escalation_ladder: Mapped[str | None] = mapped_column(String(255))
    repeat_every: Mapped[int | None]
    max_repeats: Mapped[int | None]
    # False: no reminders or escalations at all for this plan.
    enabled: Mapped[bool | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
