"""Periodic reports: lists, submission on time or late, review by the lead office, conflicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.clock import FixedClock
from service.config import Settings
from service.models import AuditLog, PlanStatus, ReportObligation
from tests.tasks.builders import World, add_deadline, add_obligation, written


def _submit(
    api: TestClient, world: World, who: str = "health", version: int = 1, **body: Any
) -> Any:
    obligation = body.pop("obligation", world.health_report)
    return api.post(
        f"/api/obligations/{obligation.id}/submit",
        json={"version": version, "narrative": "Đã khám cho 120 người cao tuổi.", **body},
        headers=world.headers[who],
    )


def _review(api: TestClient, world: World, action: str, who: str = "lead", **body: Any) -> Any:
    return api.post(
        f"/api/obligations/{world.health_report.id}/{action}",
        json=body,
        headers=world.headers[who],
    )


def _ids(api: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    response = api.get("/api/obligations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_each_role_sees_its_reports(api: TestClient, world: World) -> None:
    both = {world.health_report.id, world.lead_report.id}
    assert _ids(api, world.headers["health"]) == {world.health_report.id}
    assert _ids(api, world.headers["lead"]) == both
    assert _ids(api, world.headers["lead"], mine=1) == {world.lead_report.id}
    assert _ids(api, world.headers["leadership"]) == both
    assert _ids(api, world.headers["outsider"]) == set()
    assert _ids(api, world.headers["outsider_lead"]) == set()


def test_filters(api: TestClient, session: Session, world: World) -> None:
    annual = add_deadline(
        session, world.plan, due_on=world.deadline.due_on.replace(month=11), label="Báo cáo năm"
    )
    later = add_obligation(session, annual, world.health)
    session.commit()
    lead = world.headers["lead"]
    assert _ids(api, lead, deadline_id=annual.id) == {later.id}
    assert _ids(api, lead, agency_id=world.health.id) == {world.health_report.id, later.id}
    assert _ids(api, lead, due_after="2025-07-01") == {later.id}
    assert _ids(api, lead, due_before="2025-06-10") == {
        world.health_report.id,
        world.lead_report.id,
    }
    assert _ids(api, lead, plan_id=world.other_plan.id) == set()
    _submit(api, world)
    assert _ids(api, lead, status="submitted") == {world.health_report.id}
    assert _ids(api, lead, status="pending") == {world.lead_report.id, later.id}


@pytest.mark.parametrize(
    "params", [{"status": "da_gui"}, {"due_before": "10/06/2025"}, {"deadline_id": "x"}]
)
def test_bad_filters_are_refused(api: TestClient, world: World, params: dict[str, Any]) -> None:
    response = api.get("/api/obligations", params=params, headers=world.headers["lead"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "request.invalid"


def test_submitting_on_time(
    api: TestClient, session: Session, world: World, clock: FixedClock
) -> None:
    response = _submit(api, world)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "submitted"
    assert report["status_label"] == "Đã gửi, chờ xem xét"
    assert report["submitted_at"] == "2025-06-02T10:00:00+07:00"
    assert report["submitted_by_id"] == world.users["health"].id
    assert report["on_time"] is True
    assert report["overdue"] is False
    assert report["version"] == 2
    assert report["tasks"]["total"] == 1
    assert report["tasks"]["by_state"]["chua_trien_khai"] == 1

    session.expire_all()
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "report.submit")).one()
    assert audit.entity_id == world.health_report.id
    assert audit.detail["on_time"] is True
    assert audit.detail["tasks"] == [
        {
            "id": world.health_task.id,
            "state": "chua_trien_khai",
            "progress": 0,
            "due_on": "2025-09-30",
            "completed_on": None,
        }
    ]


@pytest.mark.parametrize(
    ("now", "on_time"),
    [
        (datetime(2025, 6, 10, 16, 59, tzinfo=UTC), True),  # 23:59 on 10/06 in Hanoi
        (datetime(2025, 6, 10, 17, 1, tzinfo=UTC), False),  # 00:01 on 11/06 in Hanoi
    ],
)
def test_on_time_is_judged_by_vietnams_day(
    api: TestClient, world: World, clock: FixedClock, now: datetime, on_time: bool
) -> None:
    clock.set(now)
    before = api.get(f"/api/obligations/{world.health_report.id}", headers=world.headers["health"])
    assert before.json()["overdue"] is (not on_time)
    assert before.json()["on_time"] is None
    assert _submit(api, world).json()["on_time"] is on_time


def test_submitting_twice_is_refused(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    _submit(api, world)
    before = written(session, settings.data_dir)
    again = _submit(api, world, version=2)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "report.already_submitted"
    double_click = _submit(api, world, version=1)
    assert double_click.status_code == 409
    assert double_click.json()["error"]["code"] == "report.already_submitted"
    assert written(session, settings.data_dir) == before


def test_returned_with_a_comment_counts_as_not_submitted_until_sent_again(
    api: TestClient, world: World, clock: FixedClock
) -> None:
    _submit(api, world)
    returned = _review(api, world, "return", version=2, comment="  Bổ sung số liệu quý II. ")
    assert returned.status_code == 200, returned.text
    report = returned.json()
    assert report["status"] == "returned"
    assert report["review_comment"] == "Bổ sung số liệu quý II."
    assert report["reviewed_by_id"] == world.users["lead"].id
    assert report["on_time"] is None

    clock.set(datetime(2025, 6, 12, 2, 0, tzinfo=UTC))
    pending = api.get(f"/api/obligations/{world.health_report.id}", headers=world.headers["health"])
    assert pending.json()["overdue"] is True
    resent = _submit(api, world, version=3, narrative="Đã bổ sung số liệu quý II.")
    assert resent.status_code == 200
    assert resent.json()["status"] == "submitted"
    assert resent.json()["submitted_at"] == "2025-06-12T09:00:00+07:00"
    assert resent.json()["on_time"] is False
    assert resent.json()["overdue"] is False


def test_accepting(api: TestClient, session: Session, world: World, settings: Settings) -> None:
    _submit(api, world)
    accepted = _review(api, world, "accept", version=2)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["on_time"] is True
    before = written(session, settings.data_dir)
    for response in (
        _review(api, world, "accept", version=3),
        _review(api, world, "return", version=3, comment="Sai"),
        _submit(api, world, version=3),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "report.already_accepted"
    assert written(session, settings.data_dir) == before
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "report_obligations").order_by(AuditLog.id)
    ).all()
    assert actions == ["report.submit", "report.accept"]


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_returning_needs_a_comment(
    api: TestClient, session: Session, world: World, settings: Settings, comment: str | None
) -> None:
    _submit(api, world)
    before = written(session, settings.data_dir)
    body: dict[str, Any] = {"version": 2}
    if comment is not None:
        body["comment"] = comment
    response = _review(api, world, "return", **body)
    assert response.status_code == 422
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert fields == ["comment"]
    assert written(session, settings.data_dir) == before


def test_a_report_not_yet_sent_cannot_be_reviewed(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    response = _review(api, world, "accept", version=1)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report.not_submitted"
    assert written(session, settings.data_dir) == before


def test_a_stale_version_gets_409_with_the_current_report(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    _submit(api, world)
    _review(api, world, "return", version=2, comment="Bổ sung")
    before = written(session, settings.data_dir)
    stale = _submit(api, world, version=2)
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "report.conflict"
    current = error["details"]["obligation"]
    assert (current["status"], current["version"], current["review_comment"]) == (
        "returned",
        3,
        "Bổ sung",
    )
    stale_review = _review(api, world, "accept", version=1)
    assert stale_review.status_code == 409
    assert written(session, settings.data_dir) == before


@pytest.mark.parametrize(
    ("who", "action", "status", "code"),
    [
        ("leadership", "submit", 403, "auth.forbidden"),
        ("lead", "submit", 403, "report.not_your_agency"),
        ("outsider", "submit", 404, "report.not_found"),
        ("outsider_lead", "submit", 404, "report.not_found"),
        ("health", "accept", 403, "report.review_forbidden"),
        ("leadership", "accept", 403, "auth.forbidden"),
        ("outsider_lead", "accept", 404, "report.not_found"),
        ("health", "return", 403, "report.review_forbidden"),
    ],
)
def test_who_may_submit_and_review(
    api: TestClient,
    session: Session,
    world: World,
    settings: Settings,
    who: str,
    action: str,
    status: int,
    code: str,
) -> None:
    if action != "submit":
        _submit(api, world)
    before = written(session, settings.data_dir)
    if action == "submit":
        response = _submit(api, world, who)
    else:
        extra = {"comment": "Trả lại"} if action == "return" else {}
        response = _review(api, world, action, who, version=2, **extra)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert written(session, settings.data_dir) == before


def test_admin_may_submit_and_review(api: TestClient, world: World) -> None:
    assert _submit(api, world, "admin").status_code == 200
    assert _review(api, world, "accept", "admin", version=2).status_code == 200


def test_malformed_submissions_are_refused(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    for body in (
        {"version": 1, "narrative": "   "},
        {"version": 1},
        {"narrative": "Báo cáo"},
        {"version": "một", "narrative": "Báo cáo"},
        {"version": 1, "narrative": "Báo cáo", "status": "accepted"},
    ):
        response = api.post(
            f"/api/obligations/{world.health_report.id}/submit",
            json=body,
            headers=world.headers["health"],
        )
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "request.invalid"
    assert written(session, settings.data_dir) == before


def test_unknown_report(api: TestClient, world: World) -> None:
    for response in (
        api.get("/api/obligations/31337", headers=world.headers["admin"]),
        api.post(
            "/api/obligations/31337/submit",
            json={"version": 1, "narrative": "x"},
            headers=world.headers["admin"],
        ),
        api.post(
            "/api/obligations/31337/accept", json={"version": 1}, headers=world.headers["admin"]
        ),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "report.not_found"


def test_a_closed_plans_reports_are_frozen(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    world.plan.status = PlanStatus.CLOSED
    session.commit()
    before = written(session, settings.data_dir)
    response = _submit(api, world)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report.plan_not_active"
    assert written(session, settings.data_dir) == before
    session.expire_all()
    assert session.get(ReportObligation, world.health_report.id).submitted_at is None  # type: ignore[union-attr]
