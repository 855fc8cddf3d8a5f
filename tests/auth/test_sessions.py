"""The browser session: a signed cookie, its flags, its age, sign-out and what ends it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from service.auth.passwords import hash_password
from service.clock import FixedClock
from service.models import User, UserRole
from tests import factories
from tests.auth import scenario

PASSWORD = "mat-khau-du-dai"


def _user(session: Session, role: UserRole = UserRole.FOCAL_POINT) -> User:
    user = factories.user(
        session,
        role,
        scenario.agency(session),
        email="nguoi.dung@example.vn",
        password_hash=hash_password(PASSWORD),
    )
    session.commit()
    return user


def _sign_in(client: TestClient) -> str:
    response = client.post(
        "/api/auth/login", json={"email": "nguoi.dung@example.vn", "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.headers["set-cookie"]


def _cookie_attributes(set_cookie: str) -> dict[str, str]:
    attributes = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def test_the_cookie_is_http_only_same_site_lax_and_lasts_the_configured_hours(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _user(session)
    client = make_client(session_hours=8)

    attributes = _cookie_attributes(_sign_in(client))

    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["max-age"] == str(8 * 3600)
    assert attributes["path"] == "/"
    assert "secure" not in attributes


def test_the_cookie_is_secure_when_asked_and_in_production(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _user(session)

    assert "secure" in _cookie_attributes(_sign_in(make_client(cookie_secure=True)))
    production = make_client(
        environment="production", secret_key=SecretStr("a-real-secret-of-40-chars")
    )
    assert "secure" in _cookie_attributes(_sign_in(production))
    assert "strict-transport-security" in production.get("/healthz").headers


def test_a_session_ends_after_its_hours(
    make_client: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    _user(session)
    client = make_client(session_hours=12)
    _sign_in(client)

    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/api/auth/me").status_code == 200
    clock.advance(timedelta(minutes=2))
    response = client.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.required"


def test_a_forged_or_altered_cookie_is_refused(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _user(session)
    client = make_client()
    _sign_in(client)
    genuine = client.cookies["dondoc_session"]
    payload, _, signature = genuine.rpartition(".")
    other_app = make_client(secret_key=SecretStr("another-secret-key"))

    forgeries = [
        f"{payload}.{'A' * len(signature)}",
        f"eyJ1IjoxLCJpYXQiOjk5OTk5OTk5OTl9.{signature}",
        "khong-phai-cookie",
        "",
    ]
    for forged in forgeries:
        client.cookies.clear()
        client.cookies.set("dondoc_session", forged)
        assert client.get("/api/auth/me").status_code == 401, forged
    other_app.cookies.set("dondoc_session", genuine)
    assert other_app.get("/api/auth/me").status_code == 401


def test_sign_out_clears_the_cookie(api: TestClient, session: Session) -> None:
    _user(session)
    _sign_in(api)

    response = api.post("/api/auth/logout")

    assert response.status_code == 204
    assert 'dondoc_session=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert api.get("/api/auth/me").status_code == 401


def test_signing_out_without_a_session_is_harmless(api: TestClient) -> None:
    assert api.post("/api/auth/logout").status_code == 204


def test_a_new_password_ends_older_sessions(api: TestClient, session: Session) -> None:
    user = _user(session)
    _sign_in(api)
    user.password_hash = hash_password("mot-mat-khau-moi")
    session.commit()

    assert api.get("/api/auth/me").status_code == 401


def test_a_deactivated_user_is_signed_out(api: TestClient, session: Session) -> None:
    user = _user(session)
    _sign_in(api)
    user.is_active = False
    session.commit()

    assert api.get("/api/auth/me").status_code == 401


def test_a_cookie_signed_write_from_another_site_is_refused(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    _user(session)
    client = make_client(public_url="https://dondoc.example.vn")
    _sign_in(client)

    cross_site = client.post(
        "/api/auth/tokens", json={"name": "x"}, headers={"Origin": "https://ke-xau.example.com"}
    )
    same_site = client.post(
        "/api/auth/tokens", json={"name": "x"}, headers={"Origin": "https://dondoc.example.vn"}
    )
    no_origin = client.post("/api/auth/tokens", json={"name": "y"})

    assert cross_site.status_code == 403
    assert cross_site.json()["error"]["code"] == "auth.bad_origin"
    assert same_site.status_code == 201
    assert no_origin.status_code == 201
    assert [t["name"] for t in client.get("/api/auth/tokens").json()["items"]] == ["y", "x"]


def test_security_headers_are_on_every_response(api: TestClient) -> None:
    for path in ["/healthz", "/api/khong-co", "/api/auth/me"]:
        headers = api.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
