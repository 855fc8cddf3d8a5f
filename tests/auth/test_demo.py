"""The demo data behind `dondoc serve --demo`: a tracked sample plan and one account per role."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import session_scope
from service.demo import COMMUNES, DEMO_PASSWORD, load_demo
from service.models import Agency, Base, Plan, PlanStatus, Task, TaskState, User


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def test_the_demo_tracks_the_sample_plan_with_one_account_per_role(
    engine: Engine, settings: Settings, session: Session
) -> None:
    with session_scope(engine) as scope:
        result = load_demo(scope, settings=settings)

    assert result.plan_imported
    assert result.plan_activated
    plan = session.get(Plan, result.plan_id)
    assert plan is not None
    assert plan.status == PlanStatus.ACTIVE
    roles = {user.role.value for user in session.scalars(select(User))}
    assert roles == {"admin", "lead_office", "focal_point", "leadership"}
    commune_tasks = session.scalars(
        select(Agency.name).join(Task, Task.agency_id == Agency.id).where(Task.plan_id == plan.id)
    ).all()
    assert set(COMMUNES) <= set(commune_tasks)
    states = set(session.scalars(select(Task.state).where(Task.plan_id == plan.id)))
    assert {TaskState.DANG_THUC_HIEN, TaskState.HOAN_THANH} <= states


def test_loading_the_demo_twice_changes_nothing(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as scope:
        first = load_demo(scope, settings=settings)
    counts = _counts(engine)

    with session_scope(engine) as scope:
        second = load_demo(scope, settings=settings)

    assert second.plan_id == first.plan_id
    assert not second.plan_imported
    assert not second.plan_activated
    assert second.created_users == 0
    assert _counts(engine) == counts


def test_demo_accounts_sign_in_and_see_their_own_work(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    with session_scope(engine) as scope:
        result = load_demo(scope, settings=settings)

    for account in result.accounts:
        client.cookies.clear()
        login = client.post(
            "/api/auth/login", json={"email": account.email, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, account.email
        tasks = client.get("/api/tasks", params={"limit": 200}).json()["items"]
        if account.role.value == "focal_point":
            assert tasks
            assert {task["agency_name"] for task in tasks} == {account.agency}
        else:
            assert len(tasks) > 3
