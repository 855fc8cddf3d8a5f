"""`dondoc parse` as a user runs it: a real subprocess, its output and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from tests.plans.test_gold import SCHEMA

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def dondoc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args], capture_output=True, text=True, timeout=120
    )


def test_json_output_is_the_contract() -> None:
    run = dondoc("parse", str(FIXTURES / "thanh-liem-2021.txt"), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert data["source"]["filename"] == "thanh-liem-2021.txt"
    assert data["lead_agency"] == "Phòng Lao động - Thương binh và Xã hội"
    assert len(data["assignments"]) == 13


def test_readable_summary() -> None:
    run = dondoc("parse", str(FIXTURES / "tuy-phuoc-2024.txt"))
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Cơ quan thường trực: Phòng Lao động - TB&XH huyện" in out
    assert "9. UBND các xã, thị trấn — 3 nhiệm vụ" in out
    assert "10/06/2024  Báo cáo 6 tháng đầu năm 2024 (lịch mặc định)" in out


def test_sample_runs_without_arguments() -> None:
    run = dondoc("parse", "--sample")
    assert run.returncode == 0, run.stderr
    assert "Kế hoạch: Triển khai thực hiện Chương trình mục tiêu Quốc gia" in run.stdout


def _zip_renamed(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "xin chào")


@pytest.mark.parametrize(
    ("name", "make", "phrase"),
    [
        ("empty.txt", lambda p: p.write_bytes(b""), "rỗng"),
        ("garbage.txt", lambda p: p.write_bytes(bytes(range(256)) * 40), "nhị phân"),
        ("fake.docx", _zip_renamed, "DOCX"),
        (
            "english.txt",
            lambda p: p.write_text("PLAN\nI. PURPOSE\nReduce poverty.\n"),
            "tiếng Việt",
        ),
        ("huge.txt", lambda p: p.write_text("Phòng Y tế: khám bệnh.\n" * 100_000), "quá dài"),
        (
            "decision.txt",
            lambda p: p.write_text("QUYẾT ĐỊNH\nĐiều 1. Phê duyệt danh sách hộ nghèo năm 2024.\n"),
            "TỔ CHỨC THỰC HIỆN",
        ),
    ],
)
def test_bad_input_gets_one_clear_sentence_and_exit_2(
    tmp_path: Path, name: str, make: object, phrase: str
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    run = dondoc("parse", str(path), "--json")
    assert run.returncode == 2
    assert run.stdout == ""
    assert phrase in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_file(tmp_path: Path) -> None:
    run = dondoc("parse", str(tmp_path / "nope.txt"))
    assert run.returncode == 2
    assert "Không tìm thấy tệp" in run.stderr
    assert "Traceback" not in run.stderr
