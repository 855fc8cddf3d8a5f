"""What the agencies API reads and writes."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from service.models import AgencyKind, AgencyLevel

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


# Long enough for any body's name; short enough that its folded key fits the 255-char column.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Email = Annotated[str | None, AfterValidator(_email)]
# A row id sent by a client: a larger number cannot name a row (and would overflow the column).
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    short_name: str | None
    level: AgencyLevel
    kind: AgencyKind
    parent_id: int | None
    is_group: bool
    head_email: str | None
    is_active: bool
    # Every spelling that resolves to this agency, the name itself included.
    aliases: list[str]
    # For a group: the agencies it fans out to.
    member_ids: list[int]


class AgencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    short_name: ShortName | None = None
    level: AgencyLevel
    kind: AgencyKind
    parent_id: Id | None = None
    is_group: bool = False
    head_email: Email = Field(default=None, max_length=320)
    aliases: list[Name] = Field(default_factory=list, max_length=100)


class AgencyUpdate(BaseModel):
    """Only the fields sent are changed. `aliases` replaces the list (the name always stays)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    short_name: ShortName | None = None
    level: AgencyLevel | None = None
    kind: AgencyKind | None = None
    parent_id: Id | None = None
    is_group: bool | None = None
    head_email: Email = Field(default=None, max_length=320)
    is_active: bool | None = None
    aliases: list[Name] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> AgencyUpdate:
        for field in ("name", "level", "kind", "is_group", "is_active", "aliases"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class MembersUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_ids: list[Id] = Field(max_length=5000)


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: Id


class SyncResult(BaseModel):
    created: int = 0
    updated: int = 0
    aliases_added: int = 0
    # Registry spellings not added because another agency already owns them in the database.
    conflicts: list[str] = Field(default_factory=list)


class CommunesImport(BaseModel):
    """One agency per commune-level unit of a province, from the official list."""

    model_config = ConfigDict(extra="forbid")

    # A name ("Gia Lai", "Thành phố Hà Nội", "ha noi"), a codename ("ha_noi") or a code ("01").
    province: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    # The group the units become members of; default: "Ủy ban nhân dân các xã, phường".
    group: Name | None = None
    # Only say what would change.
    dry_run: bool = False


class CommunesResult(BaseModel):
    province: str
    province_code: int
    # The date the official list was taken.
    data_version: str
    units: int
    group_id: int
    group: str
    # The province's People's Committee, when the registry has it: the new agencies' parent.
    parent_id: int | None
    parent: str | None
    # Names of the agencies created (or that would be, in a dry run).
    created: list[str] = Field(default_factory=list)
    # Existing agencies whose level or kind was set to a commune's People's Committee.
    updated: list[str] = Field(default_factory=list)
    aliases_added: int = 0
    members_added: int = 0
    # Units whose agency exists but is retired: members, but no task fans out to them.
    inactive: list[str] = Field(default_factory=list)
    # Members of the group that are not units of this province: kept as they are.
    other_members: list[str] = Field(default_factory=list)
    # Spellings not added because another agency already owns them.
    conflicts: list[str] = Field(default_factory=list)
    dry_run: bool = False
