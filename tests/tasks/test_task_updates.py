"""Status updates: state and progress rules, history, audit, conflicts, who may write, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from service.auth.service import session_cookie
from service.auth.sessions import SESSION_COOKIE
from service.clock import FixedClock
from service.config import Settings
from service.database import SessionFactory
from service.errors import AppError
from service.models import AuditLog, PlanStatus, StatusUpdate, Task, TaskState
from service.tasks import service as task_service
from service.tasks.schemas import StatusUpdateCreate
from tests.tasks.builders import World, written


def _update(
    api: TestClient, world: World, who: str = "health", task: Task | None = None, **body: Any
) -> Any:
    task_id = (task or world.health_task).id
    return api.post(f"/api/tasks/{task_id}/updates", json=body, headers=world.headers[who])


def test_an_update_changes_the_task_and_is_recorded(
    api: TestClient, session: Session, world: World
) -> None:
    response = _update(
        api,
        world,
        version=1,
        state="dang_thuc_hien",
        progress=40,
        narrative="  Đã khám 120 người. ",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["task"]["state"] == "dang_thuc_hien"
    assert body["task"]["state_label"] == "Đang thực hiện"
    assert body["task"]["progress"] == 40
    assert body["task"]["version"] == 2
    assert body["task"]["timeliness"] == "dang_thuc_hien_trong_han"
    assert body["update"]["narrative"] == "Đã khám 120 người."
    assert body["update"]["user_name"] == "Cán bộ health"
    assert body["update"]["created_at"] == "2025-06-02T10:00:00+07:00"

    session.expire_all()
    update = session.scalars(select(StatusUpdate)).one()
    assert (update.state, update.progress, update.user_id) == (
        TaskState.DANG_THUC_HIEN,
        40,
        world.users["health"].id,
    )
    audit = session.scalars(select(AuditLog).where(AuditLog.entity == "tasks")).one()
    assert (audit.action, audit.entity, audit.entity_id) == ("task.update", "tasks", 1)
    assert audit.actor_user_id == world.users["health"].id
    assert audit.detail["from"] == {"state": "chua_trien_khai", "progress": 0}
    assert audit.detail["to"] == {"state": "dang_thuc_hien", "progress": 40}


def test_history_is_newest_first_and_append_only(
    api: TestClient, world: World, clock: FixedClock
) -> None:
    _update(api, world, version=1, state="dang_thuc_hien", progress=10)
    clock.set(datetime(2025, 6, 20, 2, 0, tzinfo=UTC))
    _update(api, world, version=2, state="gap_vuong_mac", blocked_reason="Thiếu kinh phí")
    clock.set(datetime(2025, 7, 1, 2, 0, tzinfo=UTC))
    _update(api, world, version=3, state="dang_thuc_hien", progress=60)
    response = api.get(f"/api/tasks/{world.health_task.id}/updates", headers=world.headers["lead"])
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert [(u["state"], u["progress"]) for u in page["items"]] == [
        ("dang_thuc_hien", 60),
        ("gap_vuong_mac", 10),
        ("dang_thuc_hien", 10),
    ]
    assert page["items"][1]["blocked_reason"] == "Thiếu kinh phí"
    second = api.get(
        f"/api/tasks/{world.health_task.id}/updates",
        params={"limit": 1, "offset": 2},
        headers=world.headers["health"],
    ).json()
    assert second["total"] == 3
    assert second["items"][0]["progress"] == 10


def test_completion_is_stamped_with_vietnams_day_and_cleared_on_reopening(
    api: TestClient, world: World, clock: FixedClock
) -> None:
    clock.set(datetime(2025, 9, 30, 17, 30, tzinfo=UTC))  # 00:30 on 01/10 in Hanoi
    done = _update(api, world, version=1, state="hoan_thanh").json()["task"]
    assert done["progress"] == 100
    assert done["completed_on"] == "2025-10-01"
    assert done["timeliness"] == "hoan_thanh_qua_han"
    assert done["timeliness_label"] == "Hoàn thành quá hạn"

    again = _update(api, world, version=2, state="hoan_thanh", narrative="Bổ sung số liệu").json()
    assert again["task"]["completed_on"] == "2025-10-01"

    reopened = _update(api, world, version=3, state="dang_thuc_hien", progress=90).json()["task"]
    assert reopened["completed_on"] is None
    assert reopened["timeliness"] == "qua_han_chua_hoan_thanh"


def test_blocked_needs_a_reason_which_other_states_drop(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    for reason in (None, "   "):
        refused = _update(api, world, version=1, state="gap_vuong_mac", blocked_reason=reason)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "task.reason_required"
        assert refused.json()["error"]["details"] == {"field": "blocked_reason"}
    assert written(session, settings.data_dir) == before

    blocked = _update(
        api, world, version=1, state="gap_vuong_mac", progress=20, blocked_reason="Chưa có kinh phí"
    )
    assert blocked.json()["task"]["blocked_reason"] == "Chưa có kinh phí"
    unblocked = _update(
        api, world, version=2, state="dang_thuc_hien", blocked_reason="Chưa có kinh phí"
    )
    assert unblocked.json()["task"]["blocked_reason"] is None
    assert unblocked.json()["task"]["progress"] == 20


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"state": "hoan_thanh", "progress": 80}, "task.done_needs_full_progress"),
        ({"state": "dang_thuc_hien", "progress": 100}, "task.full_progress_needs_done"),
        (
            {"state": "gap_vuong_mac", "progress": 100, "blocked_reason": "x"},
            "task.full_progress_needs_done",
        ),
        ({"state": "chua_trien_khai", "progress": 10}, "task.not_started_has_progress"),
    ],
)
def test_state_and_progress_must_agree(
    api: TestClient,
    session: Session,
    world: World,
    settings: Settings,
    body: dict[str, Any],
    code: str,
) -> None:
    before = written(session, settings.data_dir)
    response = _update(api, world, version=1, **body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"] == {"field": "progress"}
    assert written(session, settings.data_dir) == before


def test_reopening_a_done_task_needs_a_new_progress(api: TestClient, world: World) -> None:
    _update(api, world, version=1, state="hoan_thanh")
    response = _update(api, world, version=2, state="dang_thuc_hien")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "task.full_progress_needs_done"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1, "state": "dang_thuc_hien", "progress": 101}, "progress"),
        ({"version": 1, "state": "dang_thuc_hien", "progress": -1}, "progress"),
        ({"version": 1, "state": "dang_thuc_hien", "progress": "nhiều"}, "progress"),
        ({"version": 1, "state": "xong_roi", "progress": 10}, "state"),
        ({"version": 1, "progress": 10}, "state"),
        ({"state": "dang_thuc_hien", "progress": 10}, "version"),
        ({"version": 0, "state": "dang_thuc_hien", "progress": 10}, "version"),
        ({"version": 1, "state": "hoan_thanh", "timeliness": "hoan_thanh_dung_han"}, "timeliness"),
        ({"version": 1, "state": "dang_thuc_hien", "narrative": "x" * 10_001}, "narrative"),
    ],
)
def test_malformed_updates_are_refused(
    api: TestClient,
    session: Session,
    world: World,
    settings: Settings,
    body: dict[str, Any],
    field: str,
) -> None:
    before = written(session, settings.data_dir)
    response = _update(api, world, **body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "request.invalid"
    assert field in [f["field"] for f in error["details"]["fields"]]
    assert written(session, settings.data_dir) == before


def test_a_body_that_is_not_json_or_a_form_is_refused(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    url = f"/api/tasks/{world.health_task.id}/updates"
    headers = world.headers["health"]
    broken = api.post(
        url, content=b"{version: 1", headers={**headers, "content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "request.invalid"
    xml = api.post(url, content=b"<x/>", headers={**headers, "content-type": "application/xml"})
    assert xml.status_code == 415
    assert xml.json()["error"]["code"] == "request.unsupported_media_type"
    assert written(session, settings.data_dir) == before


def test_a_form_works_like_json(api: TestClient, world: World) -> None:
    response = api.post(
        f"/api/tasks/{world.health_task.id}/updates",
        data={"version": "1", "state": "dang_thuc_hien", "progress": "35", "blocked_reason": ""},
        headers=world.headers["health"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["task"]["progress"] == 35


def test_a_form_with_an_empty_file_input_works(
    api: TestClient, world: World, settings: Settings
) -> None:
    # What a browser sends for <input type="file"> with no file chosen: an empty, unnamed part.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="version"\r\n\r\n1\r\n--b\r\n'
        b'Content-Disposition: form-data; name="state"\r\n\r\ndang_thuc_hien\r\n--b\r\n'
        b'Content-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    response = api.post(
        f"/api/tasks/{world.health_task.id}/updates",
        content=body,
        headers={**world.headers["health"], "content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["update"]["attachments"] == []
    assert not (settings.data_dir / "evidence").exists()


def test_a_stale_version_gets_409_with_the_current_task(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    first = _update(api, world, "lead", version=1, state="dang_thuc_hien", progress=50)
    assert first.status_code == 201
    before = written(session, settings.data_dir)
    stale = _update(api, world, version=1, state="hoan_thanh", narrative="Xong")
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "task.conflict"
    assert "người khác cập nhật" in error["message"]
    current = error["details"]["task"]
    assert (current["state"], current["progress"], current["version"]) == ("dang_thuc_hien", 50, 2)
    assert written(session, settings.data_dir) == before


def test_a_save_racing_another_gets_409_with_the_winners_state(
    session: Session, world: World, settings: Settings, clock: FixedClock
) -> None:
    """Both read version 1; the other commits first; ours must not overwrite it."""
    engine = session.get_bind()
    user = world.users["health"]

    raced: list[bool] = []

    def the_other_saves_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Just before our UPDATE of the task reaches the database (after our read).
        if raced or "UPDATE TASKS" not in statement.upper():
            return
        raced.append(True)
        with SessionFactory(bind=engine) as other:
            task_service.update_status(
                other,
                user=world.users["lead"],
                task_id=world.health_task.id,
                data=StatusUpdateCreate(version=1, state=TaskState.DANG_THUC_HIEN, progress=70),
                files=[],
                clock=clock,
                settings=settings,
            )
            other.commit()

    event.listen(engine, "before_cursor_execute", the_other_saves_first)
    try:
        with SessionFactory(bind=engine) as ours, pytest.raises(AppError) as raised:
            task_service.update_status(
                ours,
                user=user,
                task_id=world.health_task.id,
                data=StatusUpdateCreate(version=1, state=TaskState.HOAN_THANH),
                files=[],
                clock=clock,
                settings=settings,
            )
    finally:
        event.remove(engine, "before_cursor_execute", the_other_saves_first)
    assert raced == [True]
    assert raised.value.status == 409
    assert raised.value.code == "task.conflict"
    current = raised.value.details["task"]
    assert (current["state"], current["progress"], current["version"]) == ("dang_thuc_hien", 70, 2)
    session.expire_all()
    assert session.get(Task, world.health_task.id).state == TaskState.DANG_THUC_HIEN  # type: ignore[union-attr]
    assert len(session.scalars(select(StatusUpdate)).all()) == 1


def test_a_task_the_session_already_holds_reads_the_update(
    session: Session, world: World, settings: Settings, clock: FixedClock
) -> None:
    """The update is written with plain SQL: a `Task` loaded earlier in the same session must
    not keep showing the old state (the demo data and scripts update through one session)."""
    task = session.get(Task, world.health_task.id)
    assert task is not None
    assert task.version == 1
    task_service.update_status(
        session,
        user=world.users["health"],
        task_id=task.id,
        data=StatusUpdateCreate(version=1, state=TaskState.HOAN_THANH, narrative="Xong"),
        files=[],
        clock=clock,
        settings=settings,
    )
    assert (task.state, task.progress, task.version) == (TaskState.HOAN_THANH, 100, 2)
    assert task.completed_on == date(2025, 6, 2)
    assert task.updated_at == clock()


def test_the_task_routes_check_the_caller_like_every_route(
    api: TestClient, session: Session, world: World, settings: Settings, clock: FixedClock
) -> None:
    """They sign the caller in inside their one worker-thread call (`CallerDep`): the same
    refusals as `CurrentUser`, and nothing written."""
    before = written(session, settings.data_dir)
    url = f"/api/tasks/{world.health_task.id}/updates"
    body = {"version": 1, "state": "dang_thuc_hien", "progress": 5}

    assert api.post(url, json=body).status_code == 401
    assert api.get("/api/tasks").status_code == 401
    bad_token = api.post(url, json=body, headers={"Authorization": "Bearer khong-dung"})
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["code"] == "auth.required"

    user = world.users["health"]
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_cookie(settings, user=user, now=clock())}"}
    cross_site = api.post(
        url, json=body, headers={**cookie, "Origin": "https://ke-xau.example.com"}
    )
    assert cross_site.status_code == 403
    assert cross_site.json()["error"]["code"] == "auth.bad_origin"

    user.is_active = False
    session.commit()
    assert api.post(url, json=body, headers=world.headers["health"]).status_code == 401
    assert api.get("/api/tasks", headers=cookie).status_code == 401
    assert written(session, settings.data_dir) == before

    user.is_active = True
    session.commit()
    same_site = api.post(url, json=body, headers={**cookie, "Origin": "http://testserver"})
    assert same_site.status_code == 201, same_site.text


@pytest.mark.parametrize("who", ["health", "lead", "admin"])
def test_the_agency_the_plans_lead_office_and_admin_may_write(
    api: TestClient, world: World, who: str
) -> None:
    response = _update(api, world, who, version=1, state="dang_thuc_hien", progress=5)
    assert response.status_code == 201, response.text


def test_leadership_reads_but_may_not_write(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    response = _update(api, world, "leadership", version=1, state="dang_thuc_hien", progress=5)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.forbidden"
    assert written(session, settings.data_dir) == before


@pytest.mark.parametrize(
    ("who", "task"),
    [
        ("outsider", "health_task"),
        ("outsider_lead", "health_task"),
        ("health", "lead_task"),
        ("health", "outsider_task"),
    ],
)
def test_another_agencys_task_cannot_be_written(
    api: TestClient, session: Session, world: World, settings: Settings, who: str, task: str
) -> None:
    before = written(session, settings.data_dir)
    response = _update(
        api, world, who, task=getattr(world, task), version=1, state="dang_thuc_hien", progress=5
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task.not_found"
    assert written(session, settings.data_dir) == before


def test_unknown_task(api: TestClient, world: World) -> None:
    response = api.post(
        "/api/tasks/424242/updates",
        json={"version": 1, "state": "dang_thuc_hien"},
        headers=world.headers["admin"],
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task.not_found"


def test_a_closed_plans_tasks_are_read_only(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    world.plan.status = PlanStatus.CLOSED
    session.commit()
    before = written(session, settings.data_dir)
    response = _update(api, world, version=1, state="dang_thuc_hien", progress=5)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "task.plan_not_active"
    assert written(session, settings.data_dir) == before
    assert api.get("/api/tasks", headers=world.headers["health"]).json()["total"] == 1


def test_data_dir_is_untouched_without_evidence(
    api: TestClient, world: World, settings: Settings
) -> None:
    _update(api, world, version=1, state="dang_thuc_hien", progress=5)
    assert not Path(settings.data_dir, "evidence").exists()
