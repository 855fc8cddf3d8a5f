"""Rows for tests: agencies, users with API tokens, and headers to call the API as them."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from service.auth.service import create_api_token
from service.models import Agency, AgencyKind, AgencyLevel, User, UserRole

_serial = itertools.count(1)


def agency(session: Session, name: str | None = None, **fields: object) -> Agency:
    row = Agency(
        name=name or f"Phòng Thử nghiệm {next(_serial)}",
        level=fields.pop("level", AgencyLevel.DISTRICT),
        kind=fields.pop("kind", AgencyKind.DEPARTMENT),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def user(
    session: Session, role: UserRole, agency_row: Agency | None = None, **fields: object
) -> User:
    number = next(_serial)
    row = User(
        email=str(fields.pop("email", f"user{number}@example.vn")),
        full_name=str(fields.pop("full_name", f"Người dùng {number}")),
        role=role,
        agency_id=agency_row.id if agency_row else None,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def auth_headers(session: Session, user_row: User) -> dict[str, str]:
    """Headers for calling the API as `user_row` (through a real API token)."""
    token = create_api_token(session, user=user_row, name="test")
    return {"Authorization": f"Bearer {token}"}
