"""AuditLog: who did what to which record, for administrators. Written, never edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None: the system (a scheduled job, the CLI).
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # e.g. "plan.activate", "task.update", "agency.merge"
    action: Mapped[str] = mapped_column(String(64))
    # The table name of the record acted on, e.g. "plans".
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
