"""The API's shared behaviour: one error format for every failure, a health check."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.models import UserRole
from tests import factories


def test_unknown_route_uses_the_error_format(client: TestClient) -> None:
    response = client.get("/api/khong-co")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "request.not_found"
    assert response.json()["error"]["message"]


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ids_past_the_database_range_are_client_errors(
    client: TestClient, session: Session
) -> None:
    admin = factories.user(session, UserRole.ADMIN)
    headers = factories.auth_headers(session, admin)
    session.commit()
    for huge in (2**31, 2**63):
        for path in (f"/api/agencies/{huge}", f"/api/plans/{huge}", f"/api/tasks/{huge}"):
            response = client.get(path, headers=headers)
            assert response.status_code in (404, 422), (path, response.text)
            assert response.json()["error"]["code"]
