"""Timeliness: derived from due date, completion date and today (Vietnam's), in Python and SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import TaskState
from service.tasks.timeliness import Timeliness, timeliness
from tests.tasks.builders import World, add_task

TODAY = date(2025, 6, 2)  # the `clock` fixture's day in Hanoi


@pytest.mark.parametrize(
    ("state", "due_on", "completed_on", "expected"),
    [
        (TaskState.HOAN_THANH, date(2025, 6, 5), date(2025, 6, 5), Timeliness.HOAN_THANH_DUNG_HAN),
        (TaskState.HOAN_THANH, date(2025, 6, 5), date(2025, 6, 6), Timeliness.HOAN_THANH_QUA_HAN),
        (TaskState.HOAN_THANH, None, date(2025, 6, 1), Timeliness.HOAN_THANH_DUNG_HAN),
        (TaskState.HOAN_THANH, date(2025, 5, 1), None, Timeliness.HOAN_THANH_DUNG_HAN),
        (TaskState.DANG_THUC_HIEN, None, None, Timeliness.CHUA_CO_HAN),
        (TaskState.DANG_THUC_HIEN, date(2025, 6, 1), None, Timeliness.QUA_HAN),
        (TaskState.GAP_VUONG_MAC, date(2025, 6, 2), None, Timeliness.SAP_DEN_HAN),
        (TaskState.CHUA_TRIEN_KHAI, date(2025, 6, 5), None, Timeliness.SAP_DEN_HAN),
        (TaskState.CHUA_TRIEN_KHAI, date(2025, 6, 6), None, Timeliness.TRONG_HAN),
    ],
)
def test_rule(
    state: TaskState, due_on: date | None, completed_on: date | None, expected: Timeliness
) -> None:
    found = timeliness(
        state=state, due_on=due_on, completed_on=completed_on, today=TODAY, due_soon_days=3
    )
    assert found == expected


def _grid(session: Session, world: World) -> None:
    """Every state against due dates around today, and done tasks finished around their due date."""
    for offset in (None, -5, -1, 0, 1, 3, 4, 30):
        due_on = None if offset is None else TODAY + timedelta(days=offset)
        for state in TaskState:
            if state == TaskState.HOAN_THANH:
                finished: list[date | None] = [None]
                if due_on is not None:
                    finished = [due_on + timedelta(days=days) for days in (-1, 0, 1)]
                for completed_on in finished:
                    add_task(
                        session,
                        world.plan,
                        world.health,
                        due_on=due_on,
                        state=state,
                        progress=100,
                        completed_on=completed_on,
                    )
            else:
                progress = 0 if state == TaskState.CHUA_TRIEN_KHAI else 40
                add_task(
                    session, world.plan, world.health, due_on=due_on, state=state, progress=progress
                )
    session.commit()


def _all(api: TestClient, headers: dict[str, str], **params: object) -> list[dict[str, object]]:
    response = api.get("/api/tasks", params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _expected(item: dict[str, object], *, today: date = TODAY, due_soon_days: int = 3) -> str:
    def day(value: object) -> date | None:
        return date.fromisoformat(str(value)) if value else None

    return timeliness(
        state=TaskState(str(item["state"])),
        due_on=day(item["due_on"]),
        completed_on=day(item["completed_on"]),
        today=today,
        due_soon_days=due_soon_days,
    ).value


def test_database_and_python_agree_on_every_case(
    api: TestClient, session: Session, world: World
) -> None:
    _grid(session, world)
    items = _all(api, world.headers["health"])
    assert len(items) > 40
    for item in items:
        assert item["timeliness"] == _expected(item), item
    assert {item["timeliness"] for item in items} == {value.value for value in Timeliness}


def test_filter_returns_exactly_the_tasks_of_that_timeliness(
    api: TestClient, session: Session, world: World
) -> None:
    _grid(session, world)
    everything = _all(api, world.headers["health"])
    for value in Timeliness:
        filtered = _all(api, world.headers["health"], timeliness=value.value)
        expected = {item["id"] for item in everything if item["timeliness"] == value.value}
        assert {item["id"] for item in filtered} == expected
        assert filtered, value


def test_pages_of_a_timeliness_filter_add_up(
    api: TestClient, session: Session, world: World
) -> None:
    overdue = {
        add_task(session, world.plan, world.health, due_on=TODAY - timedelta(days=n)).id
        for n in range(1, 6)
    }
    for n in range(1, 8):
        add_task(session, world.plan, world.health, due_on=TODAY + timedelta(days=10 * n))
    session.commit()
    seen: list[int] = []
    for offset in (0, 2, 4):
        response = api.get(
            "/api/tasks",
            params={"timeliness": "qua_han_chua_hoan_thanh", "limit": 2, "offset": offset},
            headers=world.headers["health"],
        )
        page = response.json()
        assert page["total"] == 5
        seen += [item["id"] for item in page["items"]]
    assert sorted(seen) == sorted(overdue)


def test_today_is_vietnams_day_not_utcs(
    api: TestClient, session: Session, world: World, clock: FixedClock
) -> None:
    task = add_task(session, world.plan, world.health, due_on=date(2025, 6, 9))
    session.commit()
    # 23:30 UTC on 09/06 is 06:30 on 10/06 in Hanoi: the task is a day late there.
    clock.set(datetime(2025, 6, 9, 23, 30, tzinfo=UTC))
    response = api.get(f"/api/tasks/{task.id}", headers=world.headers["health"])
    assert response.json()["timeliness"] == "qua_han_chua_hoan_thanh"
    assert response.json()["timeliness_label"] == "Quá hạn chưa hoàn thành"
    clock.set(datetime(2025, 6, 9, 16, 59, tzinfo=UTC))  # 23:59 on 09/06 in Hanoi
    response = api.get(f"/api/tasks/{task.id}", headers=world.headers["health"])
    assert response.json()["timeliness"] == "sap_den_han"


class TestDueSoonDaysSetting:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            environment="test",
            database_url=database_url,
            data_dir=tmp_path / "data",
            due_soon_days=0,
        )

    def test_zero_means_only_today_is_due_soon(
        self, api: TestClient, session: Session, world: World
    ) -> None:
        today = add_task(session, world.plan, world.health, due_on=TODAY)
        tomorrow = add_task(session, world.plan, world.health, due_on=TODAY + timedelta(days=1))
        session.commit()
        items = {item["id"]: item for item in _all(api, world.headers["health"])}
        assert items[today.id]["timeliness"] == "sap_den_han"
        assert items[tomorrow.id]["timeliness"] == "dang_thuc_hien_trong_han"
        for item in items.values():
            assert item["timeliness"] == _expected(item, due_soon_days=0)
