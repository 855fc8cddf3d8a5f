"""What the tasks and reports API reads and writes: tasks, status updates, report obligations."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.clock import LocalDateTime
from service.models import ObligationStatus, TaskRole, TaskState
from service.tasks.timeliness import Timeliness

# Free text a person types: surrounding blanks do not count.
Narrative = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]
RequiredText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Row ids are 32-bit in the schema: a larger one names no row and must not reach the driver.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version the client last saw")]


class AttachmentRead(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    url: str


# --- Tasks --------------------------------------------------------------------------------------


class TaskRead(BaseModel):
    id: int
    plan_id: int
    plan_title: str | None
    assignment_id: int
    agency_id: int
    agency_name: str
    text: str
    role: TaskRole
    co_agencies: list[str]
    due_on: date | None
    state: TaskState
    state_label: str
    progress: int
    blocked_reason: str | None
    completed_on: date | None
    timeliness: Timeliness = Field(description="Derived from due_on, completed_on and today")
    timeliness_label: str
    version: int
    updated_at: LocalDateTime


class TaskFilters(BaseModel):
    plan_id: Id | None = None
    agency_id: Id | None = None
    state: TaskState | None = None
    timeliness: Timeliness | None = None
    due_after: date | None = Field(default=None, description="Due on or after this day")
    due_before: date | None = Field(default=None, description="Due on or before this day")
    q: str | None = Field(default=None, max_length=200, description="Words in the task's text")
    mine: bool = Field(default=False, description="Only my agency's tasks")


class StatusUpdateCreate(BaseModel):
    """A focal point's report on a task. Timeliness is derived, so it cannot be sent."""

    model_config = ConfigDict(extra="forbid")

    version: Version
    state: TaskState
    progress: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="0–100; default 100 when done, 0 when not started, else unchanged",
    )
    narrative: Narrative | None = None
    blocked_reason: Reason | None = Field(
        default=None, description="Required when the state is gap_vuong_mac"
    )


class StatusUpdateRead(BaseModel):
    id: int
    task_id: int
    user_id: int
    user_name: str
    created_at: LocalDateTime
    state: TaskState
    state_label: str
    progress: int
    narrative: str | None
    blocked_reason: str | None
    attachments: list[AttachmentRead]


class TaskUpdated(BaseModel):
    task: TaskRead
    update: StatusUpdateRead


# --- Report obligations -------------------------------------------------------------------------


class ObligationRead(BaseModel):
    id: int
    plan_id: int
    plan_title: str | None
    deadline_id: int
    kind: str
    label: str
    agency_id: int
    agency_name: str
    due_on: date
    status: ObligationStatus
    status_label: str
    submitted_at: LocalDateTime | None
    submitted_by_id: int | None
    narrative: str | None
    on_time: bool | None = Field(
        description="Submitted (or accepted) on or before due_on, Vietnam time; null otherwise"
    )
    overdue: bool = Field(description="Not submitted (pending or returned) and due_on has passed")
    reviewed_at: LocalDateTime | None
    reviewed_by_id: int | None
    review_comment: str | None
    version: int


class TaskCounts(BaseModel):
    """An agency's tasks in a plan, now: what its report is about."""

    total: int
    by_state: dict[TaskState, int]
    by_timeliness: dict[Timeliness, int]


class ObligationDetail(ObligationRead):
    attachments: list[AttachmentRead]
    tasks: TaskCounts


class ObligationFilters(BaseModel):
    plan_id: Id | None = None
    deadline_id: Id | None = None
    agency_id: Id | None = None
    status: ObligationStatus | None = None
    due_after: date | None = Field(default=None, description="Due on or after this day")
    due_before: date | None = Field(default=None, description="Due on or before this day")
    mine: bool = Field(default=False, description="Only my agency's reports")


class ReportSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version
    narrative: Annotated[RequiredText, StringConstraints(max_length=20_000)]


class ReportAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version


class ReportReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version
    comment: Annotated[RequiredText, StringConstraints(max_length=5_000)]
