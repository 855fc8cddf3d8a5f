"""What the plans API reads and writes, and the draft kept in `plan.extraction` during review.

The draft is the parser's plan-extraction/1 JSON with a few additions, so it still reads as an
extraction: every assignment, task and deadline gets a `key` (stable while others are added,
merged or removed), each assignment an `agency_ids` list parallel to `members`, each task a
`due_on`, and `review.next_key` the next key to hand out.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.agencies.schemas import MAX_ID, Email, Id, Name
from service.clock import LocalDateTime
from service.models import AgencyKind, AgencyLevel, PlanStatus, SourceFormat, TaskRole

ReportKind = Literal["monthly", "quarterly", "semiannual", "annual", "period", "adhoc", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Heading = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Year = Annotated[int, Field(ge=1945, le=2100)]
# Keys and member indexes inside a draft.
Key = Annotated[int, Field(ge=1, le=MAX_ID)]
Index = Annotated[int, Field(ge=0, le=MAX_ID)]


class _NoNulls(BaseModel):
    """A partial update: fields left out stay; `null` only where the field may be empty."""

    model_config = ConfigDict(extra="forbid")
    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null(self) -> _NoNulls:
        for field in self.model_fields_set - self.nullable_fields:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


# --- the draft, as stored -----------------------------------------------------------------------


class DraftTask(BaseModel):
    key: int
    text: str
    role: TaskRole
    co_agencies: list[str] = Field(default_factory=list)
    due_on: date | None = None


class DraftAssignment(BaseModel):
    key: int
    ordinal: str
    heading: str
    members: list[str]
    canonical: list[str | None]
    agency_ids: list[int | None]
    is_request: bool = False
    is_lead: bool = False
    tasks: list[DraftTask]


class DraftDeadline(BaseModel):
    key: int
    kind: str
    label: str
    due_on: date
    source: Literal["plan", "default"] = "plan"
    # True: computed from the reporting regime over the plan's years (recomputed when they
    # change); False: typed or edited by the reviewer (kept); None: stored before this was kept.
    computed: bool | None = None


class DeadlineRef(BaseModel):
    kind: str
    label: str


class ReviewInfo(BaseModel):
    next_key: int = 1
    # Computed deadlines the reviewer removed: a recomputation does not bring them back.
    removed_deadlines: list[DeadlineRef] = Field(default_factory=list)


class Draft(BaseModel):
    # The parser's other fields (schema, source, plan, reporting, ...) ride along untouched.
    model_config = ConfigDict(extra="allow")

    assignments: list[DraftAssignment]
    deadlines: list[DraftDeadline]
    review: ReviewInfo = Field(default_factory=ReviewInfo)


# --- reading ------------------------------------------------------------------------------------


class MemberRead(BaseModel):
    index: int
    name: str
    # The registry's name for it, when the parser recognised it.
    canonical: str | None
    agency_id: int | None
    agency_name: str | None
    is_group: bool
    # For a group: how many active agencies it fans out to.
    member_count: int | None


class AssignmentRead(BaseModel):
    key: int
    ordinal: str
    heading: str
    is_request: bool
    is_lead: bool
    members: list[MemberRead]
    tasks: list[DraftTask]


class UnresolvedMember(BaseModel):
    assignment_key: int
    ordinal: str
    index: int
    name: str


class PlanReview(BaseModel):
    assignments: list[AssignmentRead]
    deadlines: list[DraftDeadline]
    # What activation would refuse: members without an agency, groups without members.
    unresolved: list[UnresolvedMember]
    empty_groups: list[str]


class PlanCounts(BaseModel):
    assignments: int
    tasks: int
    deadlines: int
    obligations: int


class PlanSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str | None
    number: str | None
    issuer: str | None
    issued_on: date | None
    start_year: int | None
    end_year: int | None
    status: PlanStatus
    lead_agency_id: int | None
    report_to_agency_id: int | None
    parent_plan_id: int | None
    # Sent in Vietnam's time, with its offset.
    created_at: LocalDateTime
    activated_at: LocalDateTime | None
    closed_at: LocalDateTime | None


class PlanRead(PlanSummary):
    source_filename: str
    source_format: SourceFormat
    source_sha256: str
    warnings: list[str]
    # While a draft: the editable review. Once active: how many rows activation created.
    review: PlanReview | None = None
    counts: PlanCounts | None = None


class ActivationResult(BaseModel):
    plan: PlanRead
    created: PlanCounts


# --- writing ------------------------------------------------------------------------------------


class PlanUpdate(_NoNulls):
    nullable_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "title",
            "number",
            "issued_on",
            "start_year",
            "end_year",
            "lead_agency_id",
            "report_to_agency_id",
            "parent_plan_id",
        }
    )

    title: Heading | None = None
    number: Short | None = None
    issued_on: date | None = None
    start_year: Year | None = None
    end_year: Year | None = None
    lead_agency_id: Id | None = None
    report_to_agency_id: Id | None = None
    parent_plan_id: Id | None = None


class AssignmentUpdate(_NoNulls):
    ordinal: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    heading: Heading | None = None
    is_request: bool | None = None
    is_lead: bool | None = None


class AssignmentMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The assignment merged into this one (and then gone).
    other_key: Key
    heading: Heading | None = None


class AssignmentSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Indexes of the members that move to a new assignment placed right after this one.
    members: list[Index] = Field(min_length=1, max_length=500)


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    agency_id: Id | None = None


class MemberMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_id: Id
    # Also make the spelling an alias of the agency, so the next plan resolves it by itself.
    remember: bool = True


class MemberAgencyCreate(BaseModel):
    """A new agency for a member nobody knows yet; the member's spelling resolves to it."""

    model_config = ConfigDict(extra="forbid")

    # Default: the member's name as written.
    name: Name | None = None
    level: AgencyLevel
    kind: AgencyKind
    parent_id: Id | None = None
    is_group: bool = False
    head_email: Email = Field(default=None, max_length=320)


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    role: TaskRole = TaskRole.THUC_HIEN
    due_on: date | None = None
    co_agencies: list[Name] = Field(default_factory=list, max_length=50)


class TaskUpdate(_NoNulls):
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"due_on"})

    text: Text | None = None
    role: TaskRole | None = None
    due_on: date | None = None
    co_agencies: list[Name] | None = Field(default=None, max_length=50)


class DeadlineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    label: Label
    due_on: date


class DeadlineUpdate(_NoNulls):
    kind: ReportKind | None = None
    label: Label | None = None
    due_on: date | None = None
