"""User: a person who signs in (administrator, lead office, focal point, leadership)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.models.base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.agency import Agency


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    LEAD_OFFICE = "lead_office"  # the standing agency that follows up and consolidates
    FOCAL_POINT = "focal_point"  # đầu mối: updates its agency's tasks and reports
    LEADERSHIP = "leadership"  # reads dashboards


class User(Base):
    __tablename__ = "users"
    # Sign-in compares e-mails exactly; the check keeps a mixed-case address out even when it
    # is written without the ORM.
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"))
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="SET NULL"), index=True
    )
    # None: the user signs in by e-mailed link only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    reminders_paused_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    agency: Mapped[Agency | None] = relationship()

    @validates("email")
    def _lower_case_email(self, _key: str, email: str) -> str:
        return email.strip().lower()

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!r})"
