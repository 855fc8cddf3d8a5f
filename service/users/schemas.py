"""Request and response models of the users domain."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from service.auth.passwords import MAX_LENGTH, MIN_LENGTH
from service.clock import LocalDateTime
from service.models import UserRole

# Deliberately loose: one "@", a dot in the domain, no spaces. Whether the mailbox exists is
# only known when the sign-in link arrives.
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError("not an e-mail address")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^\+?[0-9 .()-]{6,31}$")
]
Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
# Ids are 32-bit integers in the database: a larger one is refused here, not by the driver.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    phone: str | None
    role: UserRole
    agency_id: int | None
    agency_name: str | None = None
    is_active: bool
    has_password: bool = False
    created_at: LocalDateTime
    last_login_at: LocalDateTime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    full_name: FullName
    phone: Phone | None = None
    role: UserRole
    agency_id: Id | None = Field(
        default=None, description="Bắt buộc với đầu mối và cơ quan thường trực"
    )
    password: Password | None = Field(
        default=None, description="Bỏ trống: người dùng đăng nhập bằng liên kết gửi qua e-mail"
    )


class UserUpdate(BaseModel):
    """Only the fields sent are changed; `"password": null` removes the password."""

    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    full_name: FullName | None = None
    phone: Phone | None = None
    role: UserRole | None = None
    agency_id: Id | None = None
    password: Password | None = None
    is_active: bool | None = None


class FocalPointRead(BaseModel):
    id: int
    full_name: str
    email: str
    phone: str | None
    agency_id: int
    agency_name: str
