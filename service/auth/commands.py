"""The work behind `dondoc users create`, `dondoc tokens create` and `dondoc serve --demo`.

Each runs in one committed transaction; anything that goes wrong becomes a `CommandError`: one
Vietnamese sentence and an exit code (2 for what the user can fix, 1 for the server's side).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.agencies import service as agency_service
from service.auth import service as auth_service
from service.config import Settings
from service.database import DatabaseSetupError, get_engine, session_scope, upgrade_database
from service.errors import AppError
from service.i18n import t
from service.models import Agency, User, UserRole
from service.plans.errors import PlanError
from service.users import service as user_service
from service.users.schemas import UserCreate

T = TypeVar("T")


class CommandError(Exception):
    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        self.message = message
        self.exit_code = exit_code
        super().__init__(message)


def in_transaction(run: Callable[[Session], T]) -> T:
    try:
        with session_scope(get_engine()) as session:
            return run(session)
    except AppError as error:
        raise CommandError(error.message, exit_code=2 if error.status < 500 else 1) from error
    except (PlanError, DatabaseSetupError) as error:
        raise CommandError(error.message, exit_code=1) from error
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise CommandError(t("auth_cli.database", detail=detail), exit_code=1) from error


def upgrade() -> None:
    try:
        upgrade_database()
    except DatabaseSetupError as error:
        raise CommandError(error.message, exit_code=1) from error


def role_name(role: UserRole) -> str:
    return t(f"user_role.{role.value}")


def create_user(
    *,
    email: str,
    role: str,
    agency: str | None,
    full_name: str | None,
    phone: str | None,
    password: str | None,
) -> str:
    """Create an account; what to print about it."""
    try:
        user_role = UserRole(role.strip().lower())
    except ValueError:
        roles = ", ".join(r.value for r in UserRole)
        raise CommandError(t("auth_cli.bad_role", role=role, roles=roles)) from None
    try:
        data = UserCreate(
            email=email,
            full_name=full_name or email.split("@")[0],
            phone=phone,
            role=user_role,
            password=password,
        )
    except ValidationError as error:
        fields = ", ".join(dict.fromkeys(str(e["loc"][0]) for e in error.errors()))
        raise CommandError(t("auth_cli.invalid", fields=fields)) from None

    def run(session: Session) -> str:
        agency_row = _agency(session, agency) if agency else None
        data.agency_id = agency_row.id if agency_row else None
        user = user_service.create_user(session, actor=None, data=data)
        return t(
            "auth_cli.user_created",
            email=user.email,
            role=role_name(user.role),
            agency=agency_row.name if agency_row else "—",
        )

    return in_transaction(run)


def _agency(session: Session, name: str) -> Agency:
    """The agency a person typed: its id, or any spelling the registry or the database knows."""
    agency_service.ensure_seeded(session)
    name = name.strip()
    if name.isdigit():
        found = session.get(Agency, int(name)) if int(name) < 2**31 else None
    else:
        found = agency_service.resolve(session, name)
    if found is None:
        raise AppError("auth_cli.unknown_agency", name=name)
    return found


def create_token(*, email: str, name: str) -> str:
    """A new API token for the account; the token itself is the return value, shown once."""
    if not name.strip() or len(name.strip()) > 100:
        raise CommandError(t("auth_cli.bad_token_name"))

    def run(session: Session) -> str:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or not user.is_active:
            raise AppError("auth_cli.unknown_user", email=email)
        token, _row = auth_service.issue_api_token(session, user=user, name=name)
        return token

    return in_transaction(run)


def load_demo(settings: Settings) -> str:
    """Load the demo data; what to print (the plan, the accounts, their password)."""
    from service import demo

    if settings.environment == "production":
        raise CommandError(t("auth_cli.demo_in_production"))
    result = in_transaction(lambda session: demo.load_demo(session, settings=settings))
    lines = [
        t("auth_cli.demo_plan", id=result.plan_id, title=result.plan_title),
        t("auth_cli.demo_accounts", password=demo.DEMO_PASSWORD),
    ]
    for account in result.accounts:
        role = role_name(account.role)
        lines.append(
            t("auth_cli.demo_account", email=account.email, role=role, agency=account.agency)
            if account.agency
            else t("auth_cli.demo_account_no_agency", email=account.email, role=role)
        )
    return "\n".join(lines)
