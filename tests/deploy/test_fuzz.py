"""The API fuzzed from its own OpenAPI schema (schemathesis), as an administrator.

Every operation gets valid and invalid input (hypothesis, derandomized so CI is repeatable; set
DONDOC_FUZZ_SEED to explore other inputs), half the time aimed at rows that exist, so the calls
reach the code behind validation. Each response must:

- not be a server error (5xx);
- match the response schema and content type the OpenAPI document gives for its status;
- when it is an error, have the one error format ({"error": {"code", "message", "details"}}
  with a code from the message catalogue), documented or not.

Bounded: a few examples per operation, and fewer once the time budget is spent, so every
operation is fuzzed and the test stays under two minutes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import hypothesis.strategies as st
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import SessionFactory, dispose_engines, make_engine
from service.i18n import catalogue
from service.main import create_app
from service.models import User
from tests import factories
from tests.tasks import builders

EXAMPLES = {"sqlite": 10, "postgresql": 5}
BUDGET_SECONDS = {"sqlite": 40, "postgresql": 30}
AFTER_BUDGET_EXAMPLES = 2
SEED_ENV = "DONDOC_FUZZ_SEED"


def error_format(_ctx: Any, response: Any, case: Any) -> None:
    """Every error, documented or not, in the API's one error format."""
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(
            f"{case.operation.label} {response.status_code}: not the error format: "
            f"{response.text[:200]}"
        ) from None
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] in catalogue(), f"unknown error code {error['code']!r}"
    assert isinstance(error["message"], str)
    assert error["message"]


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, error_format]


def world_ids(world: builders.World) -> dict[str, int]:
    """Path parameters naming rows that exist, by name."""
    return {
        "plan_id": world.plan.id,
        "task_id": world.health_task.id,
        "obligation_id": world.health_report.id,
        "deadline_id": world.deadline.id,
        "agency_id": world.health.id,
        "member_id": world.lead.id,
        "user_id": world.users["health"].id,
        "key": 0,
        "index": 0,
    }


def fresh_admin_headers(session: Session, world: builders.World) -> dict[str, str]:
    """The fuzzer may revoke the admin's token or deactivate the account: start each operation
    signed in again."""
    admin = session.get(User, world.users["admin"].id)
    assert admin is not None
    admin.is_active = True
    headers = factories.auth_headers(session, admin)
    session.commit()
    return headers


def fuzz(
    operation: Any, *, examples: int, ids: dict[str, int], headers: dict[str, str]
) -> str | None:
    """Fuzz one operation; its failure report, or None."""
    seed = os.environ.get(SEED_ENV)
    strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, aim=st.booleans())
    def run(case: Any, aim: bool) -> None:
        if aim:
            for name in case.path_parameters:
                if name in ids:
                    case.path_parameters[name] = ids[name]
        try:
            response = case.call(headers=headers)
        except Exception as error:
            # The app raised instead of answering: a 500 for a real client.
            raise AssertionError(
                f"server error {error!r}\n\nReproduce with:\n    {case.as_curl_command()}"
            ) from error
        case.validate_response(response, checks=CHECKS)

    if seed is not None:
        run = hypothesis_seed(int(seed))(run)
    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - all reported alike
        return f"{operation.label}:\n{failure}"
    return None


def test_the_api_survives_fuzzing_and_answers_as_documented(
    backend: str, session: Session, settings: Settings
) -> None:
    world = builders.build_world(session)
    ids = world_ids(world)
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    engine = make_engine(settings.effective_database_url)
    admin_session = SessionFactory(bind=engine)
    started = time.monotonic()
    failures: list[str] = []
    operations = 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            spent = time.monotonic() - started
            examples = (
                EXAMPLES[backend] if spent < BUDGET_SECONDS[backend] else AFTER_BUDGET_EXAMPLES
            )
            failure = fuzz(
                operation,
                examples=examples,
                ids=ids,
                headers=fresh_admin_headers(admin_session, world),
            )
            if failure:
                failures.append(failure)
    finally:
        admin_session.close()
        engine.dispose()
        dispose_engines()
    assert operations > 50
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
