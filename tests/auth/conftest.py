"""Fixtures of the auth tests: an app with its own settings and a clock that can be moved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.clock import FixedClock, get_clock
from service.config import Settings
from service.database import dispose_engines
from service.main import create_app

START = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def make_client(settings: Settings, clock: FixedClock) -> Iterator[Callable[..., TestClient]]:
    """`make_client(**setting_overrides)`: the app on this test's database, on `clock`."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides))
        app.dependency_overrides[get_clock] = lambda: clock
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    dispose_engines()


@pytest.fixture
def api(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
