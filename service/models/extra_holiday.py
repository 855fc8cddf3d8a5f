"""ExtraHoliday: a day off the built-in calendar does not know (a decreed bridge day)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base


class ExtraHoliday(Base):
    __tablename__ = "extra_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(255))
