"""Reviewing a draft plan, activating it into tasks and report obligations, closing it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.clock import FixedClock, get_clock
from service.config import Settings
from service.models import (
    Agency,
    AgencyKind,
    AgencyLevel,
    Assignment,
    AuditLog,
    Plan,
    ReportDeadline,
    ReportObligation,
    Task,
    UserRole,
)
from tests.plans.test_import import (
    HEALTH_OFFICE,
    LABOUR_OFFICE,
    THANH_LIEM,
    agency_named,
    error_code,
    headers_for,
    stored_files,
    upload,
)

COMMUNES = "Ủy ban nhân dân các xã, thị trấn"
ACTIVATED_AT = datetime(2021, 3, 2, 1, 30, tzinfo=UTC)


class Draft:
    """One imported draft of the Thanh Liêm plan, and the calls a reviewer makes on it."""

    def __init__(self, client: TestClient, session: Session) -> None:
        self.client = client
        self.session = session
        self.lead = headers_for(session, UserRole.LEAD_OFFICE, LABOUR_OFFICE)
        self.admin = headers_for(session, UserRole.ADMIN)
        response = upload(client, THANH_LIEM, self.lead)
        assert response.status_code == 201, response.text
        self.id: int = response.json()["id"]
        self.url = f"/api/plans/{self.id}"

    def get(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(self.url, headers=headers or self.lead)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def review(self) -> dict[str, Any]:
        return dict(self.get()["review"])

    def assignment(self, heading_start: str) -> dict[str, Any]:
        for assignment in self.review()["assignments"]:
            if assignment["heading"].startswith(heading_start):
                return dict(assignment)
        raise AssertionError(heading_start)

    def call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        return self.client.request(
            method, f"{self.url}{path}", json=json, headers=headers or self.lead
        )

    def give_communes(self, *names: str) -> list[Agency]:
        """Commune committees as members of the "all communes" group."""
        communes = []
        for name in names:
            row = Agency(name=name, level=AgencyLevel.COMMUNE, kind=AgencyKind.PEOPLE_COMMITTEE)
            self.session.add(row)
            communes.append(row)
        self.session.flush()
        group = agency_named(self.session, COMMUNES)
        group.members = communes
        self.session.commit()
        return communes


@pytest.fixture
def draft(client: TestClient, session: Session) -> Draft:
    return Draft(client, session)


def audit_actions(session: Session, plan_id: int) -> list[str]:
    session.expire_all()
    rows = session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "plans", AuditLog.entity_id == plan_id)
    )
    return list(rows)


def rows(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- the draft as the reviewer sees it ----------------------------------------------------------


def test_the_draft_shows_assignments_members_and_what_blocks_activation(draft: Draft) -> None:
    review = draft.review()

    assert len(review["assignments"]) == 13
    first = review["assignments"][0]
    assert first["is_lead"]
    assert first["members"][0]["agency_id"] == agency_named(draft.session, LABOUR_OFFICE).id
    assert len(first["tasks"]) == 6
    assert {t["role"] for t in first["tasks"]} <= {"chu_tri", "phoi_hop", "thuc_hien"}
    assert [d["label"] for d in review["deadlines"]] == [
        "Báo cáo 6 tháng đầu năm 2021",
        "Báo cáo năm 2021",
    ]
    assert review["unresolved"] == []
    assert review["empty_groups"] == [COMMUNES]


# --- metadata -----------------------------------------------------------------------------------


def test_edit_metadata(draft: Draft) -> None:
    response = draft.call(
        "PATCH",
        "",
        {"title": "Kế hoạch giảm nghèo 2021", "number": "45/KH-UBND", "issued_on": "2021-03-01"},
    )

    assert response.status_code == 200, response.text
    plan = draft.get()
    assert (plan["title"], plan["number"], plan["issued_on"]) == (
        "Kế hoạch giảm nghèo 2021",
        "45/KH-UBND",
        "2021-03-01",
    )
    assert "plan.update" in audit_actions(draft.session, draft.id)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"issued_on": "2021-02-30"}, 422, "request.invalid"),
        ({"issued_on": "01/03/2021"}, 422, "request.invalid"),
        ({"start_year": 2025, "end_year": 2021}, 422, "plan.bad_years"),
        ({"start_year": 20210}, 422, "request.invalid"),
        ({"lead_agency_id": 987654}, 404, "agency.not_found"),
        ({"report_to_agency_id": 987654}, 404, "agency.not_found"),
        ({"parent_plan_id": 987654}, 404, "plan.not_found"),
        ({"status": "active"}, 422, "request.invalid"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_changes(
    draft: Draft, change: dict[str, Any], status: int, code: str
) -> None:
    before = draft.get()

    response = draft.call("PATCH", "", change)

    assert response.status_code == status
    assert error_code(response) == code
    assert draft.get() == before
    assert "plan.update" not in audit_actions(draft.session, draft.id)


def test_huge_ids_are_a_422_not_a_database_error(draft: Draft) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]
    calls = [
        ("GET", "/api/plans/9223372036854775808", None),
        ("PATCH", draft.url, {"lead_agency_id": 2**31}),
        ("PUT", f"{draft.url}/assignments/{key}/members/0/agency", {"agency_id": 2**63}),
        ("PATCH", f"{draft.url}/tasks/{2**40}", {"text": "X"}),
    ]
    for method, url, body in calls:
        response = draft.client.request(method, url, json=body, headers=draft.lead)
        assert response.status_code == 422, (method, url)
        assert error_code(response) == "request.invalid"


def test_a_lead_office_cannot_hand_its_draft_to_another_agency(draft: Draft) -> None:
    health = agency_named(draft.session, HEALTH_OFFICE).id

    refused = draft.call("PATCH", "", {"lead_agency_id": health})
    by_admin = draft.call("PATCH", "", {"lead_agency_id": health}, headers=draft.admin)

    assert refused.status_code == 403
    assert error_code(refused) == "plan.lead_elsewhere"
    assert by_admin.status_code == 200
    # Now it is the health office's draft: the labour office no longer sees it.
    assert draft.client.get(draft.url, headers=draft.lead).status_code == 404


# --- assignments --------------------------------------------------------------------------------


def test_rename_an_assignment(draft: Draft) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]

    response = draft.call("PATCH", f"/assignments/{key}", {"heading": "Phòng Tư pháp huyện"})

    assert response.status_code == 200
    assert draft.assignment("Phòng Tư pháp huyện")["key"] == key
    assert "plan.review.assignment_update" in audit_actions(draft.session, draft.id)


def test_merge_two_assignments(draft: Draft) -> None:
    health = draft.assignment("Phòng Y tế")
    education = draft.assignment("Phòng Giáo dục")

    response = draft.call(
        "POST", f"/assignments/{health['key']}/merge", {"other_key": education["key"]}
    )

    assert response.status_code == 200, response.text
    review = response.json()["review"]
    assert len(review["assignments"]) == 12
    merged = next(a for a in review["assignments"] if a["key"] == health["key"])
    assert [m["name"] for m in merged["members"]] == [
        "Phòng Y tế",
        "Trung tâm Y tế",
        "Phòng Giáo dục và Đào tạo",
    ]
    assert [t["key"] for t in merged["tasks"]] == [
        *(t["key"] for t in health["tasks"]),
        *(t["key"] for t in education["tasks"]),
    ]
    assert education["key"] not in [a["key"] for a in review["assignments"]]


def test_split_an_assignment_by_member(draft: Draft) -> None:
    health = draft.assignment("Phòng Y tế")

    response = draft.call("POST", f"/assignments/{health['key']}/split", {"members": [1]})

    assert response.status_code == 200, response.text
    assignments = response.json()["review"]["assignments"]
    position = [a["key"] for a in assignments].index(health["key"])
    kept, new = assignments[position], assignments[position + 1]
    assert [m["name"] for m in kept["members"]] == ["Phòng Y tế"]
    assert [m["name"] for m in new["members"]] == ["Trung tâm Y tế"]
    assert new["members"][0]["agency_id"] is not None
    assert [t["text"] for t in new["tasks"]] == [t["text"] for t in health["tasks"]]
    assert {t["key"] for t in new["tasks"]}.isdisjoint(t["key"] for t in kept["tasks"])


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/assignments/9999", {"heading": "X"}, 404, "plan.assignment_not_found"),
        ("/assignments/{health}/split", {"members": [0, 1]}, 422, "plan.split_all"),
        ("/assignments/{health}/split", {"members": [7]}, 404, "plan.member_not_found"),
        ("/assignments/{health}/split", {"members": []}, 422, "request.invalid"),
        ("/assignments/{health}/merge", {"other_key": "{health}"}, 422, "plan.merge_self"),
        ("/assignments/{health}/merge", {"other_key": 9999}, 404, "plan.assignment_not_found"),
        ("/assignments/{health}", {"heading": ""}, 422, "request.invalid"),
        ("/assignments/{health}", {"is_lead": None}, 422, "request.invalid"),
    ],
)
def test_bad_assignment_edits_are_refused(
    draft: Draft, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    health = draft.assignment("Phòng Y tế")["key"]
    before = draft.review()
    body = {k: health if v == "{health}" else v for k, v in body.items()}
    method = "PATCH" if path.count("/") == 2 else "POST"

    response = draft.call(method, path.format(health=health), body)

    assert response.status_code == status
    assert error_code(response) == code
    assert draft.review() == before


def test_delete_an_assignment(draft: Draft) -> None:
    key = draft.assignment("Bảo hiểm xã hội")["key"]
    response = draft.call("DELETE", f"/assignments/{key}")
    assert response.status_code == 200
    assert key not in [a["key"] for a in response.json()["review"]["assignments"]]


# --- members ------------------------------------------------------------------------------------


def test_an_unknown_name_is_mapped_everywhere_and_remembered(draft: Draft) -> None:
    for heading in ("Phòng Tư pháp", "Phòng Y tế"):
        key = draft.assignment(heading)["key"]
        added = draft.call("POST", f"/assignments/{key}/members", {"name": "Tổ hòa giải cơ sở"})
        assert added.status_code == 200, added.text
    justice = draft.assignment("Phòng Tư pháp")
    assert draft.review()["unresolved"] == [
        {
            "assignment_key": draft.assignment("Phòng Y tế")["key"],
            "ordinal": "4",
            "index": 2,
            "name": "Tổ hòa giải cơ sở",
        },
        {"assignment_key": justice["key"], "ordinal": "6", "index": 1, "name": "Tổ hòa giải cơ sở"},
    ]
    target = agency_named(draft.session, "Phòng Tư pháp").id

    response = draft.call(
        "PUT", f"/assignments/{justice['key']}/members/1/agency", {"agency_id": target}
    )

    assert response.status_code == 200, response.text
    assert response.json()["review"]["unresolved"] == []
    spellings = draft.client.get(f"/api/agencies/{target}", headers=draft.lead).json()["aliases"]
    assert "Tổ hòa giải cơ sở" in spellings


def test_a_new_agency_is_created_from_an_unknown_name(draft: Draft) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]
    draft.call("POST", f"/assignments/{key}/members", {"name": "Hợp tác xã Nông nghiệp Thanh Hà"})

    response = draft.call(
        "POST",
        f"/assignments/{key}/members/1/agency",
        {"level": "commune", "kind": "other"},
    )

    assert response.status_code == 201, response.text
    member = next(a for a in response.json()["review"]["assignments"] if a["key"] == key)[
        "members"
    ][1]
    assert member["agency_name"] == "Hợp tác xã Nông nghiệp Thanh Hà"
    created = agency_named(draft.session, "Hợp tác xã Nông nghiệp Thanh Hà")
    assert created.level == AgencyLevel.COMMUNE
    assert "plan.review.member_create_agency" in audit_actions(draft.session, draft.id)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "/members/0/agency", {"agency_id": 987654}, 404, "agency.not_found"),
        ("PUT", "/members/5/agency", {"agency_id": 1}, 404, "plan.member_not_found"),
        ("PUT", "/members/0/agency", {"agency_id": "một"}, 422, "request.invalid"),
        ("DELETE", "/members/0", None, 422, "plan.last_member"),
        ("POST", "/members/0/agency", {"level": "moon", "kind": "other"}, 422, "request.invalid"),
    ],
)
def test_bad_member_edits_are_refused(
    draft: Draft, method: str, path: str, body: Any, status: int, code: str
) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]
    before = draft.review()

    response = draft.call(method, f"/assignments/{key}{path}", body)

    assert response.status_code == status
    assert error_code(response) == code
    assert draft.review() == before


def test_mapping_to_a_retired_agency_is_refused(draft: Draft) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]
    retired = agency_named(draft.session, "Phòng Nội vụ")
    retired.is_active = False
    draft.session.commit()

    response = draft.call("PUT", f"/assignments/{key}/members/0/agency", {"agency_id": retired.id})

    assert response.status_code == 422
    assert error_code(response) == "agency.inactive"


# --- tasks --------------------------------------------------------------------------------------


def test_add_edit_and_remove_tasks(draft: Draft) -> None:
    key = draft.assignment("Phòng Tư pháp")["key"]

    added = draft.call(
        "POST",
        f"/assignments/{key}/tasks",
        {"text": "Trợ giúp pháp lý cho hộ nghèo", "role": "chu_tri", "due_on": "2021-09-30"},
    )
    assert added.status_code == 201, added.text
    task = next(a for a in added.json()["review"]["assignments"] if a["key"] == key)["tasks"][-1]
    assert (task["text"], task["role"], task["due_on"]) == (
        "Trợ giúp pháp lý cho hộ nghèo",
        "chu_tri",
        "2021-09-30",
    )

    edited = draft.call("PATCH", f"/tasks/{task['key']}", {"role": "phoi_hop", "due_on": None})
    assert edited.status_code == 200
    after = next(a for a in edited.json()["review"]["assignments"] if a["key"] == key)["tasks"]
    assert (after[-1]["role"], after[-1]["due_on"]) == ("phoi_hop", None)

    removed = draft.call("DELETE", f"/tasks/{task['key']}")
    assert removed.status_code == 200
    assert task["key"] not in [t["key"] for t in draft.assignment("Phòng Tư pháp")["tasks"]]
    assert {
        "plan.review.task_add",
        "plan.review.task_update",
        "plan.review.task_delete",
    } <= set(audit_actions(draft.session, draft.id))


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PATCH", "/tasks/{task}", {"due_on": "2021-13-01"}, 422, "request.invalid"),
        ("PATCH", "/tasks/{task}", {"role": "giam_sat"}, 422, "request.invalid"),
        ("PATCH", "/tasks/{task}", {"text": ""}, 422, "request.invalid"),
        ("PATCH", "/tasks/{task}", {"text": None}, 422, "request.invalid"),
        ("PATCH", "/tasks/424242", {"text": "X"}, 404, "plan.task_not_found"),
        ("DELETE", "/tasks/{task}", None, 422, "plan.last_task"),
        ("POST", "/assignments/424242/tasks", {"text": "X"}, 404, "plan.assignment_not_found"),
    ],
)
def test_bad_task_edits_are_refused(
    draft: Draft, method: str, path: str, body: Any, status: int, code: str
) -> None:
    [task] = draft.assignment("Phòng Tư pháp")["tasks"]
    before = draft.review()

    response = draft.call(method, path.format(task=task["key"]), body)

    assert response.status_code == status
    assert error_code(response) == code
    assert draft.review() == before


# --- report deadlines ---------------------------------------------------------------------------


def test_add_edit_and_remove_deadlines(draft: Draft) -> None:
    added = draft.call(
        "POST",
        "/deadlines",
        {"kind": "quarterly", "label": "Báo cáo quý III năm 2021", "due_on": "2021-09-20"},
    )
    assert added.status_code == 201, added.text
    deadline = next(d for d in added.json()["review"]["deadlines"] if d["kind"] == "quarterly")
    assert deadline["source"] == "plan"

    moved = draft.call("PATCH", f"/deadlines/{deadline['key']}", {"due_on": "2021-09-25"})
    assert moved.status_code == 200
    assert [d["due_on"] for d in moved.json()["review"]["deadlines"]] == [
        "2021-06-10",
        "2021-09-25",
        "2021-11-15",
    ]

    removed = draft.call("DELETE", f"/deadlines/{deadline['key']}")
    assert removed.status_code == 200
    assert len(removed.json()["review"]["deadlines"]) == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "", {"kind": "annual", "label": "Lần nữa", "due_on": "2021-11-15"}, 409, None),
        ("POST", "", {"kind": "yearly", "label": "X", "due_on": "2021-11-15"}, 422, None),
        ("POST", "", {"kind": "annual", "label": "X", "due_on": "15/11/2021"}, 422, None),
        ("POST", "", {"kind": "annual", "label": "", "due_on": "2021-11-16"}, 422, None),
        ("PATCH", "/{first}", {"kind": "annual", "due_on": "2021-11-15"}, 409, None),
        ("PATCH", "/{first}", {"due_on": None}, 422, None),
        ("PATCH", "/777777", {"label": "X"}, 404, "plan.deadline_not_found"),
        ("DELETE", "/777777", None, 404, "plan.deadline_not_found"),
    ],
)
def test_bad_deadline_edits_are_refused(
    draft: Draft, method: str, path: str, body: Any, status: int, code: str | None
) -> None:
    first = draft.review()["deadlines"][0]["key"]
    before = draft.review()

    response = draft.call(method, "/deadlines" + path.format(first=first), body)

    assert response.status_code == status
    expected = code or {409: "plan.deadline_exists", 422: "request.invalid"}[status]
    assert error_code(response) == expected
    assert draft.review() == before


# --- activation ---------------------------------------------------------------------------------


@pytest.fixture
def fixed_clock(client: TestClient) -> FixedClock:
    clock = FixedClock(ACTIVATED_AT)
    cast(FastAPI, client.app).dependency_overrides[get_clock] = lambda: clock
    return clock


def test_activation_creates_every_task_and_obligation(
    draft: Draft, fixed_clock: FixedClock
) -> None:
    communes = draft.give_communes(
        "Ủy ban nhân dân xã Thanh Hà",
        "Ủy ban nhân dân xã Thanh Phong",
        "Ủy ban nhân dân xã Liêm Cần",
    )

    response = draft.call("POST", "/activate")

    assert response.status_code == 200, response.text
    body = response.json()
    # 13 blocks; the communes' block has 4 tasks × 3 communes; "Phòng Y tế, Trung tâm Y tế"
    # 1 task × 2; the mass organisations' block 1 task × 5; the lead 6 tasks; 7 other offices 1.
    assert body["created"] == {"assignments": 13, "tasks": 34, "deadlines": 2, "obligations": 40}
    assert body["plan"]["status"] == "active"
    assert body["plan"]["activated_at"] == "2021-03-02T08:30:00+07:00"
    assert body["plan"]["counts"] == body["created"]
    session = draft.session
    session.expire_all()
    for commune in communes:
        tasks = session.scalars(select(Task).where(Task.agency_id == commune.id)).all()
        assert len(tasks) == 4
        assert {t.plan_id for t in tasks} == {draft.id}
    agencies_with_tasks = set(session.scalars(select(Task.agency_id)).all())
    assert len(agencies_with_tasks) == 20
    obligations = session.scalars(select(ReportObligation)).all()
    assert {(o.agency_id, o.due_on) for o in obligations} == {
        (agency, due)
        for agency in agencies_with_tasks
        for due in (date(2021, 6, 10), date(2021, 11, 15))
    }
    assert rows(session, ReportDeadline) == 2
    assert rows(session, Assignment) == 13
    assert "plan.activate" in audit_actions(session, draft.id)


def test_a_retired_commune_gets_no_tasks(draft: Draft) -> None:
    kept, retired = draft.give_communes("Ủy ban nhân dân xã Thanh Hà", "Ủy ban nhân dân xã Cũ")
    retired.is_active = False
    draft.session.commit()

    response = draft.call("POST", "/activate")

    assert response.status_code == 200, response.text
    draft.session.expire_all()
    assert draft.session.scalars(select(Task).where(Task.agency_id == retired.id)).all() == []
    assert len(draft.session.scalars(select(Task).where(Task.agency_id == kept.id)).all()) == 4


def test_activation_refuses_unresolved_members_and_writes_nothing(draft: Draft) -> None:
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    key = draft.assignment("Phòng Tư pháp")["key"]
    draft.call("POST", f"/assignments/{key}/members", {"name": "Tổ hòa giải cơ sở"})

    response = draft.call("POST", "/activate")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "plan.unresolved_members"
    assert "“Tổ hòa giải cơ sở”" in error["message"]
    assert [m["name"] for m in error["details"]["members"]] == ["Tổ hòa giải cơ sở"]
    assert draft.get()["status"] == "draft"
    assert (rows(draft.session, Task), rows(draft.session, Assignment)) == (0, 0)


def test_activation_refuses_a_group_without_members(draft: Draft) -> None:
    response = draft.call("POST", "/activate")

    assert response.status_code == 422
    assert error_code(response) == "plan.empty_groups"
    assert response.json()["error"]["details"]["groups"] == [COMMUNES]
    assert COMMUNES in response.json()["error"]["message"]
    assert rows(draft.session, Task) == 0


def test_activating_twice_is_a_conflict_and_the_plan_is_frozen(draft: Draft) -> None:
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    assert draft.call("POST", "/activate").status_code == 200
    tasks = rows(draft.session, Task)

    again = draft.call("POST", "/activate")
    edit = draft.call("PATCH", "", {"title": "Muộn rồi"})

    assert (again.status_code, edit.status_code) == (409, 409)
    assert error_code(again) == "plan.not_draft"
    assert "đang theo dõi" in again.json()["error"]["message"]
    assert rows(draft.session, Task) == tasks


def test_close_an_active_plan(draft: Draft, fixed_clock: FixedClock) -> None:
    early = draft.call("POST", "/close")
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    draft.call("POST", "/activate")

    closed = draft.call("POST", "/close")
    again = draft.call("POST", "/close")

    assert early.status_code == 409
    assert error_code(early) == "plan.not_active"
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] == "2021-03-02T08:30:00+07:00"
    assert again.status_code == 409


# --- deleting a draft ---------------------------------------------------------------------------


def test_a_discarded_draft_leaves_no_row_and_no_file(draft: Draft, settings: Settings) -> None:
    assert len(stored_files(settings)) == 1

    response = draft.call("DELETE", "")

    assert response.status_code == 204
    assert rows(draft.session, Plan) == 0
    assert stored_files(settings) == []
    # The same file can now be imported again.
    assert upload(draft.client, THANH_LIEM, draft.lead).status_code == 201


def test_an_active_plan_cannot_be_deleted(draft: Draft, settings: Settings) -> None:
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    draft.call("POST", "/activate")

    response = draft.call("DELETE", "")

    assert response.status_code == 409
    assert rows(draft.session, Plan) == 1
    assert len(stored_files(settings)) == 1


# --- who may review -----------------------------------------------------------------------------

REVIEW_CALLS = [
    ("PATCH", "", {"title": "X"}),
    ("PATCH", "/assignments/1", {"heading": "X"}),
    ("POST", "/deadlines", {"kind": "annual", "label": "X", "due_on": "2021-12-01"}),
    ("POST", "/activate", None),
    ("DELETE", "", None),
]


def test_another_lead_office_cannot_see_or_touch_the_draft(draft: Draft) -> None:
    other = headers_for(draft.session, UserRole.LEAD_OFFICE, HEALTH_OFFICE)
    before = draft.review()

    for method, path, body in REVIEW_CALLS:
        response = draft.call(method, path, body, headers=other)
        assert response.status_code == 404, (method, path)
        assert error_code(response) == "plan.not_found"
    assert draft.review() == before
    assert draft.get()["status"] == "draft"


@pytest.mark.parametrize("role", [UserRole.LEADERSHIP, UserRole.FOCAL_POINT])
def test_who_can_see_an_active_plan_cannot_change_it(draft: Draft, role: UserRole) -> None:
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    draft.call("POST", "/activate")
    # A focal point of an agency with tasks in the plan now sees it; leadership sees all.
    viewer = headers_for(draft.session, role, HEALTH_OFFICE)

    assert draft.client.get(draft.url, headers=viewer).status_code == 200
    for method, path, body in [*REVIEW_CALLS, ("POST", "/close", None)]:
        response = draft.call(method, path, body, headers=viewer)
        assert response.status_code == 403, (method, path)
    assert draft.get()["status"] == "active"


def test_a_focal_point_cannot_review_a_draft_it_cannot_see(draft: Draft) -> None:
    focal = headers_for(draft.session, UserRole.FOCAL_POINT, LABOUR_OFFICE)
    for method, path, body in REVIEW_CALLS:
        assert draft.call(method, path, body, headers=focal).status_code == 404
