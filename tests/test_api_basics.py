"""The API's shared behaviour: one error format for every failure, a health check."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_unknown_route_uses_the_error_format(client: TestClient) -> None:
    response = client.get("/api/khong-co")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "request.not_found"
    assert response.json()["error"]["message"]


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
