"""Task lists and single tasks: who sees what, filters, bad filters, one query per page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import get_engine
from service.models import TaskState
from tests.tasks.builders import World, add_task


def _ids(api: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    response = api.get("/api/tasks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_each_role_sees_its_own_tasks(api: TestClient, world: World) -> None:
    everything = {world.health_task.id, world.lead_task.id, world.outsider_task.id}
    assert _ids(api, world.headers["health"]) == {world.health_task.id}
    assert _ids(api, world.headers["lead"]) == {world.health_task.id, world.lead_task.id}
    assert _ids(api, world.headers["outsider"]) == {world.outsider_task.id}
    assert _ids(api, world.headers["admin"]) == everything
    assert _ids(api, world.headers["leadership"]) == everything


def test_mine_is_my_agencys_list(api: TestClient, world: World) -> None:
    assert _ids(api, world.headers["lead"], mine=1) == {world.lead_task.id}
    assert _ids(api, world.headers["health"], mine="true") == {world.health_task.id}
    assert _ids(api, world.headers["admin"], mine=1) == set()


def test_an_item_shows_what_a_focal_point_needs(api: TestClient, world: World) -> None:
    response = api.get("/api/tasks", headers=world.headers["health"])
    (item,) = response.json()["items"]
    assert item["agency_name"] == "Phòng Y tế"
    assert item["plan_title"] == "Kế hoạch thực hiện công tác giảm nghèo năm 2025"
    assert item["text"] == "Khám sức khỏe định kỳ cho người cao tuổi thuộc hộ nghèo"
    assert item["due_on"] == "2025-09-30"
    assert item["state_label"] == "Chưa triển khai"
    assert item["timeliness_label"] == "Đang thực hiện trong hạn"
    assert item["version"] == 1
    assert response.json()["total"] == 1


def test_filters(api: TestClient, session: Session, world: World) -> None:
    done = add_task(
        session,
        world.plan,
        world.lead,
        text="Rà soát hộ nghèo, hộ cận nghèo cuối năm",
        due_on=date(2025, 11, 30),
        state=TaskState.HOAN_THANH,
        progress=100,
        completed_on=date(2025, 5, 30),
    )
    session.commit()
    lead = world.headers["lead"]
    assert _ids(api, lead, plan_id=world.other_plan.id) == set()
    assert _ids(api, lead, agency_id=world.health.id) == {world.health_task.id}
    assert _ids(api, lead, state="hoan_thanh") == {done.id}
    assert _ids(api, lead, due_after="2025-11-30") == {done.id, world.lead_task.id}
    assert _ids(api, lead, due_before="2025-09-30") == {world.health_task.id}
    assert _ids(api, lead, due_after="2025-10-01", due_before="2025-11-30") == {done.id}
    assert _ids(api, lead, q="khám SỨC khỏe") == {world.health_task.id}
    assert _ids(api, lead, q="kham suc khoe") == {world.health_task.id}
    assert _ids(api, lead, q="ỦY BAN nhân dân") == {world.lead_task.id}
    assert _ids(api, lead, q="uy ban nhan dan") == {world.lead_task.id}
    assert _ids(api, lead, q="100%") == set()
    assert _ids(api, lead, q="   ") == {world.health_task.id, world.lead_task.id, done.id}
    assert _ids(api, lead, q="hộ nghèo", state="hoan_thanh") == {done.id}


def test_sorted_by_due_date_with_undated_last(api: TestClient, world: World) -> None:
    response = api.get("/api/tasks", headers=world.headers["admin"])
    due = [item["due_on"] for item in response.json()["items"]]
    assert due == ["2025-09-30", "2025-12-15", None]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "xong"}, "state"),
        ({"timeliness": "tre_han"}, "timeliness"),
        ({"due_before": "31/12/2025"}, "due_before"),
        ({"due_after": "2025-02-30"}, "due_after"),
        ({"plan_id": "mot"}, "plan_id"),
        ({"agency_id": 2**63}, "agency_id"),
        ({"limit": 0}, "limit"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_filters_are_refused(
    api: TestClient, world: World, params: dict[str, Any], field: str
) -> None:
    response = api.get("/api/tasks", params=params, headers=world.headers["health"])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "request.invalid"
    assert field in [f["field"] for f in error["details"]["fields"]]


def test_an_inverted_date_range_is_refused(api: TestClient, world: World) -> None:
    response = api.get(
        "/api/tasks",
        params={"due_after": "2025-12-01", "due_before": "2025-01-01"},
        headers=world.headers["health"],
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "task.bad_date_range"
    assert "01/12/2025" in response.json()["error"]["message"]


def test_signing_in_is_required(api: TestClient, world: World) -> None:
    assert api.get("/api/tasks").status_code == 401
    assert api.get(f"/api/tasks/{world.health_task.id}").status_code == 401


def test_one_task(api: TestClient, world: World) -> None:
    response = api.get(f"/api/tasks/{world.health_task.id}", headers=world.headers["health"])
    assert response.status_code == 200
    assert response.json()["agency_name"] == "Phòng Y tế"


@pytest.mark.parametrize("who", ["outsider", "outsider_lead"])
def test_another_agencys_task_is_not_found(api: TestClient, world: World, who: str) -> None:
    response = api.get(f"/api/tasks/{world.health_task.id}", headers=world.headers[who])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task.not_found"
    history = api.get(f"/api/tasks/{world.health_task.id}/updates", headers=world.headers[who])
    assert history.status_code == 404


def test_unknown_and_malformed_task_ids(api: TestClient, world: World) -> None:
    unknown = api.get("/api/tasks/999999", headers=world.headers["admin"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "task.not_found"
    for malformed in ("abc", "0", str(2**63)):
        response = api.get(f"/api/tasks/{malformed}", headers=world.headers["admin"])
        assert response.status_code == 422, malformed


@contextmanager
def _statements(settings: Settings) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile (its engine is shared per settings)."""
    seen: list[str] = []
    engine = get_engine(settings)

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_costs_the_same_queries_for_2_or_60_tasks(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    headers = world.headers["lead"]
    api.get("/api/tasks", headers=headers)  # warm up: first-connection set-up is not per page
    with _statements(settings) as few:
        page = api.get("/api/tasks", params={"limit": 1}, headers=headers).json()
        assert (len(page["items"]), page["total"]) == (1, 2)
    for n in range(58):
        add_task(session, world.plan, world.health, due_on=date(2025, 7, 1 + n % 28))
    session.commit()
    with _statements(settings) as many:
        page = api.get("/api/tasks", params={"limit": 60}, headers=headers).json()
        assert (len(page["items"]), page["total"]) == (60, 60)
    assert len(many) == len(few)
    task_queries = [sql for sql in many if "FROM tasks" in sql]
    assert len(task_queries) == 2, task_queries  # the page and its total


def test_totals_are_right_on_every_page(api: TestClient, session: Session, world: World) -> None:
    for n in range(5):
        add_task(session, world.plan, world.health, due_on=date(2025, 7, 1 + n))
    session.commit()
    headers = world.headers["lead"]  # sees 7 tasks
    for offset, size in ((0, 3), (3, 3), (6, 1), (7, 0), (50, 0)):
        page = api.get("/api/tasks", params={"limit": 3, "offset": offset}, headers=headers).json()
        assert (len(page["items"]), page["total"]) == (size, 7), offset
