"""API shapes of the notifications domain: the outbox, "đôn đốc", policies, holidays, pauses."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from notifications.policy import MAX_OFFSET_DAYS, MAX_REPEATS, Audience
from service.clock import LocalDateTime
from service.models import NotificationStatus

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class OutboxItemRead(BaseModel):
    """One e-mail in the outbox (without its body: sign-in links must not leak from here)."""

    id: int
    kind: str
    recipient_email: str
    subject: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: LocalDateTime
    sent_at: LocalDateTime | None
    last_error: str | None
    message_id: str | None
    created_at: LocalDateTime


class OutboxSummary(BaseModel):
    pending: int
    sending: int
    sent: int
    failed: int


class OutboxRetry(BaseModel):
    """Send failed e-mails again: the listed ones, or every failed one."""

    model_config = ConfigDict(extra="forbid")

    ids: Annotated[list[Id], Field(max_length=500)] = Field(default_factory=list)
    all_failed: bool = False


class OutboxRetried(BaseModel):
    retried: int


class UrgeCreate(BaseModel):
    """The lead office's "đôn đốc": remind these agencies about this plan, now."""

    model_config = ConfigDict(extra="forbid")

    plan_id: Id
    agency_ids: Annotated[list[Id], Field(min_length=1, max_length=200)]
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class UrgeOutcome(enum.StrEnum):
    QUEUED = "queued"
    ALREADY_URGED_TODAY = "already_urged_today"
    NO_RECIPIENT = "no_recipient"


class UrgeRecipient(BaseModel):
    agency_id: int
    agency: str
    email: str | None
    outcome: UrgeOutcome


class UrgeResult(BaseModel):
    queued: int
    recipients: list[UrgeRecipient]


class RungModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: Annotated[int, Field(ge=1, le=MAX_OFFSET_DAYS)]
    audiences: Annotated[list[Audience], Field(min_length=1, max_length=4)]
    immediate: bool = False


class PolicyFields(BaseModel):
    reminder_days: list[int]
    on_the_day: bool
    escalation_ladder: list[RungModel]
    repeat_every: int
    max_repeats: int
    enabled: bool


class PolicyUpdate(BaseModel):
    """A plan's overrides; a field left out or null follows the deployment's setting."""

    model_config = ConfigDict(extra="forbid")

    reminder_days: (
        Annotated[list[Annotated[int, Field(ge=1, le=MAX_OFFSET_DAYS)]], Field(max_length=10)]
        | None
    ) = None
    on_the_day: bool | None = None
    escalation_ladder: Annotated[list[RungModel], Field(max_length=10)] | None = None
    repeat_every: Annotated[int, Field(ge=0, le=MAX_OFFSET_DAYS)] | None = None
    max_repeats: Annotated[int, Field(ge=0, le=MAX_REPEATS)] | None = None
    enabled: bool | None = None


class PolicyRead(BaseModel):
    plan_id: int
    # Only what this plan overrides (null: the deployment's value).
    overrides: PolicyUpdate
    # What applies to the plan.
    effective: PolicyFields


class HolidayRead(BaseModel):
    day: date
    name: str
    source: Literal["built_in", "extra"]


class HolidayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class PauseUpdate(BaseModel):
    """Pause a person's reminders until a day (inclusive); null resumes them."""

    model_config = ConfigDict(extra="forbid")

    until: date | None


class PauseRead(BaseModel):
    user_id: int
    reminders_paused_until: date | None
