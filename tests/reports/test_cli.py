"""`dondoc report PLAN_ID --deadline ID|today --format ... -o FILE`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings
from service.database import dispose_engines
from tests.reports import world


@pytest.fixture
def dondoc(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """The command line on this test's database, run from an empty directory."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", database_url)
    monkeypatch.setenv("DONDOC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield CliRunner()
    dispose_engines()
    get_settings.cache_clear()


def test_writes_the_docx_of_a_deadline(
    dondoc: CliRunner, scenario: world.Scenario, tmp_path: Path
) -> None:
    target = tmp_path / "bao-cao.docx"
    result = dondoc.invoke(
        app,
        [
            "report",
            str(scenario.plan.id),
            "--deadline",
            str(scenario.semiannual.id),
            "--format",
            "docx",
            "-o",
            str(target),
        ],
    )

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Đã ghi báo cáo (DOCX) vào {target}."
    paragraphs = [p.text for p in Document(str(target)).paragraphs]
    assert "(6 tháng đầu năm 2021)" in paragraphs


def test_xlsx_and_csv_as_of_today(
    dondoc: CliRunner, scenario: world.Scenario, tmp_path: Path
) -> None:
    xlsx = dondoc.invoke(
        app,
        [
            "report",
            str(scenario.plan.id),
            "--deadline",
            "today",
            "--format",
            "xlsx",
            "-o",
            "r.xlsx",
        ],
    )
    assert xlsx.exit_code == 0, xlsx.output
    book = load_workbook(tmp_path / "r.xlsx")
    assert book["Nhiệm vụ"].max_row == 35

    default = dondoc.invoke(app, ["report", str(scenario.plan.id), "--format", "CSV"])
    assert default.exit_code == 0, default.output
    written = list(tmp_path.glob(f"bao-cao-ke-hoach-{scenario.plan.id}-*.csv"))
    assert len(written) == 1
    rows = list(csv.reader(io.StringIO(written[0].read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 35


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--deadline", "hom-nay"],
            'Kỳ báo cáo phải là mã số kỳ báo cáo (một số nguyên) hoặc "today"',
        ),
        (["--deadline", "987654"], "Không tìm thấy kỳ báo cáo này trong kế hoạch."),
        (["--format", "pdf"], 'Định dạng "pdf" không được hỗ trợ'),
        (
            ["-o", "khong-co/thu-muc/bao-cao.docx"],
            "Không ghi được tệp khong-co/thu-muc/bao-cao.docx",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    dondoc: CliRunner, scenario: world.Scenario, arguments: list[str], message: str
) -> None:
    result = dondoc.invoke(app, ["report", str(scenario.plan.id), *arguments])

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_plan(dondoc: CliRunner, scenario: world.Scenario) -> None:
    result = dondoc.invoke(app, ["report", "987654"])

    assert result.exit_code == 2
    assert "Không tìm thấy kế hoạch này" in result.output
