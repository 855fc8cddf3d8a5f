"""Accounts, managed by administrators; focal points, looked up by the lead office."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import ApiToken, AuditLog, User, UserRole
from tests import factories
from tests.auth import scenario


@pytest.fixture
def world(session: Session) -> scenario.Scenario:
    built = scenario.build(session)
    session.commit()
    return built


def _headers(session: Session, user: User) -> dict[str, str]:
    headers = factories.auth_headers(session, user)
    session.commit()
    return headers


def _count_users(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User)) or 0


def _new_user(agency_id: int | None, **fields: Any) -> dict[str, Any]:
    return {
        "email": "Moi.Nguoi@Xa.example.vn",
        "full_name": "Hoàng Thị Mai",
        "phone": "0912 345 678",
        "role": "focal_point",
        "agency_id": agency_id,
        **fields,
    }


def test_an_admin_creates_a_focal_point_who_can_then_sign_in(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    headers = _headers(session, world.admin)

    created = api.post(
        "/api/users",
        json=_new_user(world.agency_b.id, password="mat-khau-moi-1"),
        headers=headers,
    )

    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "moi.nguoi@xa.example.vn"
    assert body["agency_name"] == world.agency_b.name
    assert body["has_password"] is True
    assert "password" not in body
    assert "password_hash" not in body
    login = api.post("/api/auth/login", json={"email": body["email"], "password": "mat-khau-moi-1"})
    assert login.status_code == 200
    session.expire_all()
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "user.create")).one()
    assert audit.actor_user_id == world.admin.id
    assert audit.entity_id == body["id"]
    assert "mat-khau" not in str(audit.detail)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"agency_id": None}, 422, "user.agency_required"),
        ({"role": "lead_office", "agency_id": None}, 422, "user.agency_required"),
        ({"agency_id": 987_654}, 404, "user.agency_not_found"),
        ({"email": "dm@b.vn"}, 409, "user.email_taken"),
        ({"email": "DM@B.VN"}, 409, "user.email_taken"),
        ({"email": "khong-phai-email"}, 422, "request.invalid"),
        ({"role": "truong_phong"}, 422, "request.invalid"),
        ({"password": "ngan"}, 422, "request.invalid"),
        ({"full_name": "   "}, 422, "request.invalid"),
        ({"phone": "goi cho toi"}, 422, "request.invalid"),
        ({"agency_id": 2**40}, 422, "request.invalid"),
        ({"is_admin": True}, 422, "request.invalid"),
    ],
)
def test_bad_new_accounts_are_refused_and_nothing_is_written(
    api: TestClient,
    session: Session,
    world: scenario.Scenario,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = _headers(session, world.admin)
    before = _count_users(session)
    body = {**_new_user(world.agency_b.id), **change}

    response = api.post("/api/users", json=body, headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert _count_users(session) == before


def test_an_account_cannot_belong_to_a_retired_agency_or_a_group(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    retired = scenario.agency(session, is_active=False)
    group = scenario.agency(session, is_group=True)
    headers = _headers(session, world.admin)

    for agency, code in [(retired, "user.agency_inactive"), (group, "user.agency_is_group")]:
        response = api.post("/api/users", json=_new_user(agency.id), headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code
        assert agency.name in response.json()["error"]["message"]


def test_leadership_and_admins_need_no_agency(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    headers = _headers(session, world.admin)

    for index, role in enumerate(["leadership", "admin"]):
        body = _new_user(None, role=role, email=f"lanh.dao.{index}@example.vn")
        response = api.post("/api/users", json=body, headers=headers)
        assert response.status_code == 201
        assert response.json()["agency_id"] is None


@pytest.mark.parametrize("who", ["leadership", "lead_a", "focal_a", "lead_b"])
def test_only_admins_manage_accounts(
    api: TestClient, session: Session, world: scenario.Scenario, who: str
) -> None:
    headers = _headers(session, getattr(world, who))
    before = _count_users(session)
    target = world.focal_b.id

    responses = [
        api.get("/api/users", headers=headers),
        api.get(f"/api/users/{target}", headers=headers),
        api.post("/api/users", json=_new_user(world.agency_a.id), headers=headers),
        api.patch(f"/api/users/{target}", json={"full_name": "Đổi tên"}, headers=headers),
        api.post(f"/api/users/{target}/deactivate", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert {r.json()["error"]["code"] for r in responses} == {"auth.forbidden"}
    assert _count_users(session) == before
    session.expire_all()
    unchanged = session.get(User, target)
    assert unchanged is not None
    assert unchanged.is_active
    assert unchanged.full_name != "Đổi tên"


def test_the_list_filters_by_role_agency_and_text_and_pages(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    headers = _headers(session, world.admin)

    def emails(**params: Any) -> list[str]:
        response = api.get("/api/users", params=params, headers=headers)
        assert response.status_code == 200
        return [item["email"] for item in response.json()["items"]]

    assert emails(role="focal_point") == [world.focal_a.email, world.focal_b.email]
    assert emails(agency_id=world.agency_b.id) == [world.lead_b.email, world.focal_b.email]
    assert emails(q="QUANTRI") == [world.admin.email]
    assert emails(q="%") == []
    page = api.get("/api/users", params={"limit": 2, "offset": 1}, headers=headers).json()
    assert page["total"] == 6
    assert page["limit"] == 2
    assert len(page["items"]) == 2
    assert api.get("/api/users", params={"role": "vua"}, headers=headers).status_code == 422
    assert api.get("/api/users", params={"limit": 0}, headers=headers).status_code == 422


def test_an_admin_updates_an_account(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    headers = _headers(session, world.admin)

    response = api.patch(
        f"/api/users/{world.focal_b.id}",
        json={"role": "lead_office", "phone": None, "full_name": "Tên mới"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json()["role"] == "lead_office"
    assert response.json()["full_name"] == "Tên mới"
    assert response.json()["agency_id"] == world.agency_b.id
    session.expire_all()
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "user.update")).one()
    assert audit.detail == {"role": "lead_office", "full_name": "Tên mới"}


@pytest.mark.parametrize(
    ("target", "change", "status", "code"),
    [
        ("focal_b", {"agency_id": None}, 422, "user.agency_required"),
        ("focal_b", {"email": "quantri@example.vn"}, 409, "user.email_taken"),
        ("focal_b", {"full_name": None}, 422, "user.field_required"),
        ("focal_b", {"role": None}, 422, "user.field_required"),
        ("focal_b", {"agency_id": 987_654}, 404, "user.agency_not_found"),
        ("focal_b", {"password": "ngan"}, 422, "request.invalid"),
        ("admin", {"role": "leadership"}, 409, "user.self_lockout"),
        ("admin", {"is_active": False}, 409, "user.self_lockout"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(
    api: TestClient,
    session: Session,
    world: scenario.Scenario,
    target: str,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = _headers(session, world.admin)
    user_id = getattr(world, target).id
    session.expire_all()
    before = {c.name: getattr(session.get(User, user_id), c.name) for c in User.__table__.columns}

    response = api.patch(f"/api/users/{user_id}", json=change, headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    session.expire_all()
    after = {c.name: getattr(session.get(User, user_id), c.name) for c in User.__table__.columns}
    assert after == before


def test_unknown_accounts_are_404(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    headers = _headers(session, world.admin)

    for response in [
        api.get("/api/users/987654", headers=headers),
        api.patch("/api/users/987654", json={"full_name": "x"}, headers=headers),
        api.post("/api/users/987654/deactivate", headers=headers),
    ]:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "user.not_found"
    assert api.get(f"/api/users/{2**31}", headers=headers).status_code == 422


def test_deactivation_ends_every_way_in(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    admin_headers = _headers(session, world.admin)
    victim_headers = _headers(session, world.focal_b)

    response = api.post(f"/api/users/{world.focal_b.id}/deactivate", headers=admin_headers)

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert api.get("/api/auth/me", headers=victim_headers).status_code == 401
    session.expire_all()
    live = (
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == world.focal_b.id, ApiToken.revoked_at.is_(None))
    )
    assert session.scalar(live) == 0
    link = api.post("/api/auth/link", json={"email": world.focal_b.email})
    assert link.status_code == 202
    reactivated = api.patch(
        f"/api/users/{world.focal_b.id}", json={"is_active": True}, headers=admin_headers
    )
    assert reactivated.json()["is_active"] is True
    # Old credentials stay dead after reactivation.
    assert api.get("/api/auth/me", headers=victim_headers).status_code == 401
    own = api.post(f"/api/users/{world.admin.id}/deactivate", headers=admin_headers)
    assert own.status_code == 409
    assert own.json()["error"]["code"] == "user.self_lockout"


def _focal_emails(api: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = api.get("/api/focal-points", params=params, headers=headers)
    assert response.status_code == 200
    return [item["email"] for item in response.json()["items"]]


def test_the_lead_office_sees_the_focal_points_of_agencies_in_its_plans(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    agency_c = scenario.agency(session)
    focal_c = factories.user(session, UserRole.FOCAL_POINT, agency_c, email="dm@c.vn")
    # A's plan also assigns a task to C; B's plan involves nobody else.
    scenario.plan(session, lead=world.agency_a, task_agencies=[agency_c], label="C")
    session.commit()

    lead_a = _focal_emails(api, _headers(session, world.lead_a))
    lead_b = _focal_emails(api, _headers(session, world.lead_b))

    assert sorted(lead_a) == sorted([world.focal_a.email, focal_c.email])
    assert lead_b == [world.focal_b.email]
    assert _focal_emails(api, _headers(session, world.lead_b), agency_id=agency_c.id) == []


def test_focal_points_see_their_own_agency_only_and_admins_see_all(
    api: TestClient, session: Session, world: scenario.Scenario
) -> None:
    colleague = factories.user(session, UserRole.FOCAL_POINT, world.agency_b, email="dm2@b.vn")
    factories.user(session, UserRole.FOCAL_POINT, world.agency_b, is_active=False)
    session.commit()

    mine = _focal_emails(api, _headers(session, world.focal_b))
    everyone = _focal_emails(api, _headers(session, world.admin))
    in_plan_a = _focal_emails(api, _headers(session, world.admin), plan_id=world.plan_a.id)

    assert sorted(mine) == sorted([world.focal_b.email, colleague.email])
    assert sorted(everyone) == sorted([world.focal_a.email, world.focal_b.email, colleague.email])
    assert in_plan_a == [world.focal_a.email]
    assert api.get("/api/focal-points").status_code == 401
