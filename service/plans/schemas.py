"""The extraction contract (plan-extraction/1): what the parser returns and `parse --json` shows."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_ID: Literal["plan-extraction/1"] = "plan-extraction/1"

Role = Literal["chu_tri", "phoi_hop", "thuc_hien"]
ReportKind = Literal["monthly", "quarterly", "semiannual", "annual", "period", "adhoc", "other"]
SourceFormat = Literal["txt", "docx", "pdf"]


class SourceInfo(BaseModel):
    filename: str
    sha256: str
    format: SourceFormat


class PlanMeta(BaseModel):
    title: str | None = None
    number: str | None = None
    issuer: str | None = None
    issued_on: date | None = None
    start_year: int | None = None
    end_year: int | None = None


class SectionInfo(BaseModel):
    numeral: str | None
    heading: str
    line: int = Field(ge=1)


class TaskItem(BaseModel):
    text: str
    role: Role
    co_agencies: list[str] = Field(default_factory=list)
    # A task read from a table row: its time cell as written, and the date it sets, if any.
    due_text: str | None = None
    due_on: date | None = None


class Assignment(BaseModel):
    ordinal: str
    heading: str
    members: list[str]
    canonical: list[str | None]
    is_request: bool = False
    is_lead: bool = False
    tasks: list[TaskItem]


class ReportingEntry(BaseModel):
    kind: ReportKind
    due_day_month: str | None
    text: str


class Deadline(BaseModel):
    kind: str
    label: str
    due_on: date
    source: Literal["plan", "default"]


class PlanExtraction(BaseModel):
    schema_: Literal["plan-extraction/1"] = Field(default=SCHEMA_ID, alias="schema")
    source: SourceInfo
    plan: PlanMeta
    implementation_section: SectionInfo
    lead_agency: str | None
    report_to: str | None
    assignments: list[Assignment]
    reporting: list[ReportingEntry]
    deadlines: list[Deadline]
    warnings: list[str]

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)
