"""Signing in with an e-mail and a password (argon2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.passwords import hash_password
from service.i18n import t
from service.models import AuditLog, User, UserRole
from tests import factories
from tests.auth import scenario

PASSWORD = "mat-khau-du-dai"


def _lead_office(session: Session, **fields: object) -> User:
    fields.setdefault("password_hash", hash_password(PASSWORD))
    user = factories.user(
        session,
        UserRole.LEAD_OFFICE,
        scenario.agency(session),
        email="thuong.truc@huyen.example.vn",
        **fields,
    )
    session.commit()
    return user


def test_the_right_password_signs_in_with_a_session_cookie(
    api: TestClient, session: Session
) -> None:
    user = _lead_office(session)

    response = api.post(
        "/api/auth/login", json={"email": "Thuong.Truc@Huyen.example.vn", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert response.json()["has_password"] is True
    assert "password_hash" not in response.json()
    assert api.get("/api/auth/me").json()["email"] == user.email
    session.expire_all()
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "auth.sign_in")).one()
    assert audit.actor_user_id == user.id
    assert audit.detail == {"method": "password"}


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("thuong.truc@huyen.example.vn", "sai-mat-khau"),
        ("khong.co@huyen.example.vn", PASSWORD),
        ("thuong.truc@huyen.example.vn", PASSWORD.upper()),
    ],
)
def test_a_wrong_email_or_password_is_the_same_401(
    api: TestClient, session: Session, email: str, password: str
) -> None:
    _lead_office(session)

    response = api.post("/api/auth/login", json={"email": email, "password": password})

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "auth.bad_credentials",
        "message": t("auth.bad_credentials"),
        "details": {},
    }
    assert "set-cookie" not in response.headers
    assert api.get("/api/auth/me").status_code == 401


def test_a_user_without_a_password_cannot_sign_in_with_one(
    api: TestClient, session: Session
) -> None:
    _lead_office(session, password_hash=None)

    for password in ["", "x", PASSWORD]:
        response = api.post(
            "/api/auth/login", json={"email": "thuong.truc@huyen.example.vn", "password": password}
        )
        assert response.status_code in (401, 422)
    response = api.post(
        "/api/auth/login", json={"email": "thuong.truc@huyen.example.vn", "password": PASSWORD}
    )
    assert response.json()["error"]["code"] == "auth.bad_credentials"


def test_a_deactivated_user_cannot_sign_in(api: TestClient, session: Session) -> None:
    _lead_office(session, is_active=False)

    response = api.post(
        "/api/auth/login", json={"email": "thuong.truc@huyen.example.vn", "password": PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.bad_credentials"


def test_malformed_login_requests_are_422(api: TestClient) -> None:
    for body in [{}, {"email": "a@b.vn"}, {"password": "x"}, {"email": "", "password": "x"}]:
        response = api.post("/api/auth/login", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "request.invalid"
    assert api.post("/api/auth/login", content=b"not json").status_code == 422


def test_failed_logins_are_rate_limited_even_for_the_right_password_then(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _lead_office(session)
    client = make_client(auth_rate_limit_attempts=3)
    body = {"email": "thuong.truc@huyen.example.vn", "password": "doan-mo"}
    for _ in range(3):
        assert client.post("/api/auth/login", json=body).status_code == 401

    limited = client.post("/api/auth/login", json={**body, "password": PASSWORD})

    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "request.rate_limited"
    assert int(limited.headers["retry-after"]) > 0
    assert "set-cookie" not in limited.headers


def test_a_successful_login_clears_the_failures(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _lead_office(session)
    client = make_client(auth_rate_limit_attempts=3)
    email = "thuong.truc@huyen.example.vn"
    for _ in range(2):
        client.post("/api/auth/login", json={"email": email, "password": "doan-mo"})
    assert client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).is_success

    for _ in range(2):
        assert (
            client.post("/api/auth/login", json={"email": email, "password": "sai"}).status_code
            == 401
        )
    assert client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).is_success


def test_passwords_are_stored_as_argon2id_and_old_parameters_are_upgraded(
    api: TestClient, session: Session
) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    user = _lead_office(session, password_hash=old)

    response = api.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})

    assert response.status_code == 200
    session.expire_all()
    upgraded = session.get(User, user.id)
    assert upgraded is not None
    assert upgraded.password_hash is not None
    assert upgraded.password_hash.startswith("$argon2id$")
    assert upgraded.password_hash != old
    assert api.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).is_success
