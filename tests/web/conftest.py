"""Fixtures of the web UI tests: the app on a standing clock, a browser-like client that signs in
with a real session cookie and reads each form's CSRF token, and the tasks tests' scenario.

Browser tests (test_browser.py) need Chromium; without it they skip with the reason, and with
DONDOC_REQUIRE_BROWSER=1 (CI) a skipped browser test fails the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import service as auth_service
from service.auth.sessions import SESSION_COOKIE
from service.clock import FixedClock, get_clock
from service.config import Settings
from service.database import dispose_engines
from service.main import create_app
from service.models import User
from tests.tasks.builders import World, build_world

# 10:00 on Monday 02/06/2025 in Hanoi: before the six-month report's 10/06 deadline.
START = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
REQUIRE_BROWSER_ENV = "DONDOC_REQUIRE_BROWSER"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


class Browser:
    """A TestClient that keeps cookies like a browser and fills in each form's CSRF token."""

    def __init__(self, client: TestClient, settings: Settings, clock: FixedClock) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock

    def sign_in(self, user: User) -> Browser:
        self.client.cookies.set(
            SESSION_COOKIE,
            auth_service.session_cookie(self.settings, user=user, now=self.clock()),
        )
        return self

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def token(self, path: str = "/sign-in") -> str:
        """The CSRF token of the forms on `path` (sets the browser's CSRF cookie if needed)."""
        page = self.client.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no form with a CSRF token on {path} ({page.status_code})"
        return found.group(1)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        form_page: str = "/sign-in",
        files: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        fields = {"csrf_token": self.token(form_page), **(data or {})}
        return self.client.post(
            path, data=fields, files=files, headers=headers, follow_redirects=False
        )


@pytest.fixture
def web(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        yield client
    dispose_engines()


@pytest.fixture
def browser(web: TestClient, settings: Settings, clock: FixedClock) -> Browser:
    return Browser(web, settings, clock)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


# --- CI: the browser tests must really have run --------------------------------------------------

_browser_outcomes = {"ran": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "browser" not in report.keywords:
        return
    if report.skipped:
        _browser_outcomes["skipped"] += 1
    elif report.when == "call":
        _browser_outcomes["ran"] += 1


def _missing_browser() -> str | None:
    if os.environ.get(REQUIRE_BROWSER_ENV) != "1":
        return None
    if _browser_outcomes["skipped"]:
        return (
            f"{REQUIRE_BROWSER_ENV}=1 but {_browser_outcomes['skipped']} browser test(s) were "
            "skipped: install Chromium (apt-get install chromium) and Playwright"
        )
    if not _browser_outcomes["ran"]:
        return f"{REQUIRE_BROWSER_ENV}=1 but no browser test ran"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _missing_browser():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = _missing_browser()
    if problem:
        terminalreporter.section("Browser tests required", red=True)
        terminalreporter.write_line(problem, red=True, bold=True)
