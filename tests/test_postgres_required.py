"""With DONDOC_REQUIRE_POSTGRES=1 (CI) a run fails when PostgreSQL tests were skipped for want of a
server, but not when a PostgreSQL test skips for a reason of its own (LibreOffice missing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCX_TESTS = "tests/reports/test_docx.py"


def _run(selection: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            DOCX_TESTS,
            "-k",
            selection,
            "-rs",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        # No soffice on the PATH: the PDF test skips on both backends whatever this machine has.
        env={**os.environ, "PATH": "/nonexistent", "DONDOC_REQUIRE_POSTGRES": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_postgres_tests_skipped_for_want_of_a_server_fail_the_run() -> None:
    result = _run("postgresql and unreadable_template", DONDOC_TEST_DATABASE_URL="")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DONDOC_REQUIRE_POSTGRES=1 but 1 PostgreSQL test(s) were skipped" in result.stdout


@pytest.mark.postgres
@pytest.mark.usefixtures("_postgres_server_url")  # skips, like any PostgreSQL test, without one
def test_a_postgres_test_skipping_for_another_reason_does_not() -> None:
    result = _run("postgresql and (unreadable_template or libreoffice)")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert "LibreOffice (soffice) is not installed" in result.stdout
