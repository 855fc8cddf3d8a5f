"""Signing in with a one-time link sent by e-mail."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth.tokens import hash_token
from service.clock import FixedClock
from service.i18n import t
from service.models import LoginToken, Notification, User, UserRole
from tests import factories
from tests.auth import scenario

LINK = re.compile(r"http://dondoc\.example\.vn/auth/link/(\S+)")


def _focal_point(session: Session, **fields: object) -> User:
    agency = scenario.agency(session)
    user = factories.user(
        session, UserRole.FOCAL_POINT, agency, email="dau.moi@xa.example.vn", **fields
    )
    session.commit()
    return user


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _request_link(client: TestClient, email: str) -> str:
    """Ask for a link; the token in the e-mail the outbox holds for it."""
    response = client.post("/api/auth/link", json={"email": email})
    assert response.status_code == 202
    return response.json()["message"]


def _token_from_outbox(session: Session) -> str:
    session.expire_all()
    body = session.scalars(select(Notification.body_text).order_by(Notification.id.desc())).first()
    assert body is not None
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def test_a_link_is_queued_as_an_email_with_a_hashed_single_use_token(
    make_client: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    user = _focal_point(session, full_name="Nguyễn Văn An")
    client = make_client(public_url="http://dondoc.example.vn/", login_link_minutes=20)

    assert _request_link(client, "Dau.Moi@Xa.Example.vn ") == t("auth.link_sent")

    mail = session.scalars(select(Notification)).one()
    assert mail.kind == "login_link"
    assert mail.recipient_email == "dau.moi@xa.example.vn"
    assert mail.user_id == user.id
    assert mail.subject == t("auth.link_subject")
    assert "Nguyễn Văn An" in mail.body_text
    assert "20 phút" in mail.body_text
    token = _token_from_outbox(session)
    stored = session.scalars(select(LoginToken)).one()
    assert stored.token_hash == hash_token(token) != token
    assert token not in stored.token_hash
    assert mail.dedup_key == f"login_link:{stored.id}"
    assert stored.expires_at == clock() + timedelta(minutes=20)


def test_unknown_and_inactive_emails_get_the_same_answer_and_nothing_is_written(
    api: TestClient, session: Session
) -> None:
    _focal_point(session, is_active=False)
    known_answer = api.post("/api/auth/link", json={"email": "dau.moi@xa.example.vn"})
    unknown_answer = api.post("/api/auth/link", json={"email": "khong.co@example.vn"})

    assert known_answer.status_code == unknown_answer.status_code == 202
    assert known_answer.json() == unknown_answer.json()
    assert _count(session, LoginToken) == 0
    assert _count(session, Notification) == 0


def test_a_malformed_email_is_refused(api: TestClient, session: Session) -> None:
    for email in ["", "khong-phai-email", "a@b", "a b@c.vn", "x" * 330 + "@a.vn"]:
        response = api.post("/api/auth/link", json={"email": email})
        assert response.status_code == 422, email
        assert response.json()["error"]["code"] == "request.invalid"
    assert _count(session, LoginToken) == 0


def test_opening_the_link_signs_in_and_redirects_home(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn")
    _request_link(client, user.email)
    token = _token_from_outbox(session)

    response = client.get(f"/auth/link/{token}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert me.json()["role"] == "focal_point"
    session.expire_all()
    assert session.get(User, user.id).last_login_at is not None  # type: ignore[union-attr]


def test_a_link_works_once(make_client: Callable[..., TestClient], session: Session) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn")
    _request_link(client, user.email)
    token = _token_from_outbox(session)
    assert client.get(f"/auth/link/{token}", follow_redirects=False).status_code == 303
    client.cookies.clear()

    again = client.get(f"/auth/link/{token}", follow_redirects=False)

    assert again.status_code == 400
    assert again.json()["error"]["code"] == "auth.link_invalid"
    assert "set-cookie" not in again.headers
    assert client.get("/api/auth/me").status_code == 401


def test_the_api_form_returns_the_user_and_sets_the_cookie(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn")
    _request_link(client, user.email)
    token = _token_from_outbox(session)

    response = client.post("/api/auth/link/verify", json={"token": token})

    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert "dondoc_session=" in response.headers["set-cookie"]
    assert client.get("/api/auth/me").json()["id"] == user.id
    reused = client.post("/api/auth/link/verify", json={"token": token})
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "auth.link_invalid"


def test_an_expired_link_is_refused(
    make_client: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn", login_link_minutes=30)
    _request_link(client, user.email)
    token = _token_from_outbox(session)

    clock.advance(timedelta(minutes=30, seconds=1))
    response = client.post("/api/auth/link/verify", json={"token": token})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "auth.link_invalid"
    session.expire_all()
    assert session.scalars(select(LoginToken.used_at)).one() is None


def test_a_link_still_valid_just_before_expiry(
    make_client: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn", login_link_minutes=30)
    _request_link(client, user.email)
    token = _token_from_outbox(session)

    clock.advance(timedelta(minutes=29, seconds=59))

    assert client.post("/api/auth/link/verify", json={"token": token}).status_code == 200


def test_unknown_or_malformed_tokens_are_refused(api: TestClient) -> None:
    for token in ["khong-co-that", "a" * 43]:
        response = api.get(f"/auth/link/{token}", follow_redirects=False)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "auth.link_invalid"
    assert api.post("/api/auth/link/verify", json={"token": ""}).status_code == 422
    assert api.post("/api/auth/link/verify", json={"token": "x" * 201}).status_code == 422
    assert api.post("/api/auth/link/verify", json={}).status_code == 422


def test_a_link_of_a_user_deactivated_since_is_refused(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    user = _focal_point(session)
    client = make_client(public_url="http://dondoc.example.vn")
    _request_link(client, user.email)
    token = _token_from_outbox(session)
    user.is_active = False
    session.commit()

    response = client.post("/api/auth/link/verify", json={"token": token})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "auth.link_invalid"


def test_link_requests_are_rate_limited_per_email_and_address(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _focal_point(session)
    client = make_client(auth_rate_limit_attempts=3, auth_rate_limit_minutes=15)
    for _ in range(3):
        assert (
            client.post("/api/auth/link", json={"email": "dau.moi@xa.example.vn"}).status_code
            == 202
        )

    limited = client.post("/api/auth/link", json={"email": "DAU.MOI@xa.example.vn"})

    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "request.rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert _count(session, Notification) == 3
    other = client.post("/api/auth/link", json={"email": "nguoi.khac@example.vn"})
    assert other.status_code == 202
