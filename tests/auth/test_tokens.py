"""API tokens: each user creates, lists and revokes their own; the token is shown once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth.tokens import hash_token
from service.clock import FixedClock
from service.models import ApiToken, User, UserRole
from tests import factories
from tests.auth import scenario


def _users(session: Session) -> tuple[User, dict[str, str], User, dict[str, str]]:
    agency = scenario.agency(session)
    owner = factories.user(session, UserRole.FOCAL_POINT, agency)
    other = factories.user(session, UserRole.ADMIN)
    owner_headers = factories.auth_headers(session, owner)
    other_headers = factories.auth_headers(session, other)
    session.commit()
    return owner, owner_headers, other, other_headers


def _active_tokens(session: Session) -> int:
    session.expire_all()
    count = select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
    return session.scalar(count) or 0


def test_a_new_token_is_shown_once_and_works(api: TestClient, session: Session) -> None:
    owner, headers, _, _ = _users(session)

    created = api.post("/api/auth/tokens", json={"name": "  Phần mềm một cửa  "}, headers=headers)

    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Phần mềm một cửa"
    token = body["token"]
    stored = session.scalars(select(ApiToken).where(ApiToken.id == body["id"])).one()
    assert stored.token_hash == hash_token(token)
    listed = api.get("/api/auth/tokens", headers=headers).json()
    assert body["id"] in [item["id"] for item in listed["items"]]
    assert token not in str(listed)
    me = api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == owner.id


def test_a_revoked_token_stops_working(api: TestClient, session: Session) -> None:
    _, headers, _, _ = _users(session)
    created = api.post("/api/auth/tokens", json={"name": "Tạm"}, headers=headers).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}

    response = api.delete(f"/api/auth/tokens/{created['id']}", headers=headers)

    assert response.status_code == 204
    assert api.get("/api/auth/me", headers=bearer).status_code == 401
    listed = api.get("/api/auth/tokens", headers=headers).json()["items"]
    assert created["id"] not in [item["id"] for item in listed]
    again = api.delete(f"/api/auth/tokens/{created['id']}", headers=headers)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "auth.token_not_found"


def test_nobody_sees_or_revokes_another_users_tokens(api: TestClient, session: Session) -> None:
    _, owner_headers, _, other_headers = _users(session)
    created = api.post("/api/auth/tokens", json={"name": "Của tôi"}, headers=owner_headers).json()
    before = _active_tokens(session)

    listed = api.get("/api/auth/tokens", headers=other_headers).json()["items"]
    revoke = api.delete(f"/api/auth/tokens/{created['id']}", headers=other_headers)

    assert created["id"] not in [item["id"] for item in listed]
    assert revoke.status_code == 404
    assert _active_tokens(session) == before
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert api.get("/api/auth/me", headers=bearer).status_code == 200


def test_bad_token_requests_are_refused_and_write_nothing(
    api: TestClient, session: Session
) -> None:
    _, headers, _, _ = _users(session)
    before = _active_tokens(session)

    for body in [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": 5}]:
        response = api.post("/api/auth/tokens", json=body, headers=headers)
        assert response.status_code == 422, body
    for token_id in ["0", "-1", "abc", str(2**31), str(2**63)]:
        response = api.delete(f"/api/auth/tokens/{token_id}", headers=headers)
        assert response.status_code == 422, token_id
    assert api.delete("/api/auth/tokens/987654", headers=headers).status_code == 404
    assert _active_tokens(session) == before


def test_token_routes_need_a_signed_in_user(api: TestClient) -> None:
    assert api.get("/api/auth/tokens").status_code == 401
    assert api.post("/api/auth/tokens", json={"name": "x"}).status_code == 401
    assert api.delete("/api/auth/tokens/1").status_code == 401
    bad = {"Authorization": "Bearer khong-hop-le"}
    assert api.get("/api/auth/tokens", headers=bad).status_code == 401


def test_a_deactivated_users_tokens_stop_working(api: TestClient, session: Session) -> None:
    owner, headers, _, _ = _users(session)
    owner.is_active = False
    session.commit()

    assert api.get("/api/auth/me", headers=headers).status_code == 401


def test_last_use_is_recorded_to_within_five_minutes(
    make_client: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    client = make_client()
    _, headers, _, _ = _users(session)
    created = client.post("/api/auth/tokens", json={"name": "Đồng bộ"}, headers=headers).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}

    def last_used() -> datetime | None:
        session.expire_all()
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == created["id"]))

    assert last_used() is None
    client.get("/api/auth/me", headers=bearer)
    first = last_used()
    assert first == clock()
    clock.advance(timedelta(minutes=4))
    client.get("/api/auth/me", headers=bearer)
    assert last_used() == first
    clock.advance(timedelta(minutes=1))
    client.get("/api/auth/me", headers=bearer)
    assert last_used() == clock()
    listed = client.get("/api/auth/tokens", headers=bearer).json()["items"]
    assert [item["last_used_at"] for item in listed if item["id"] == created["id"]] == [
        "2025-06-09T09:05:00+07:00"
    ]
