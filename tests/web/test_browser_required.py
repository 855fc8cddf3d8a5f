"""Without Chromium the browser tests skip and say why; with DONDOC_REQUIRE_BROWSER=1 (CI) that
skip fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/web/test_browser.py", "-k", "sqlite", "-rs", "-q"],
        cwd=ROOT,
        # Only the SQLite variants run here, so the PostgreSQL requirement is off.
        env={
            **os.environ,
            "DONDOC_CHROMIUM": "/nonexistent/chromium",
            "DONDOC_REQUIRE_POSTGRES": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_chromium_the_browser_tests_skip_with_the_reason() -> None:
    result = _run(DONDOC_REQUIRE_BROWSER="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "browser tests need Chromium at /nonexistent/chromium" in result.stdout
    assert "3 skipped" in result.stdout


def test_a_skipped_browser_test_fails_the_run_when_required() -> None:
    result = _run(DONDOC_REQUIRE_BROWSER="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DONDOC_REQUIRE_BROWSER=1 but 3 browser test(s) were skipped" in result.stdout
