"""Fixtures for tasks and reports: a clock that stands still, the app using it, the scenario."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.clock import FixedClock, get_clock
from tests.tasks.builders import World, build_world

# 10:00 on 02/06/2025 in Hanoi: before the six-month report's 10/06 deadline.
START = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(client: TestClient, clock: FixedClock) -> Iterator[TestClient]:
    """The app over HTTP, reading the time from `clock`."""
    client.app.dependency_overrides[get_clock] = lambda: clock  # type: ignore[attr-defined]
    yield client
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)
