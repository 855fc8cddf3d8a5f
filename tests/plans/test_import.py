"""Importing a plan file as a draft: over HTTP and with `dondoc plans import`, the duplicate,
failures that must leave nothing behind, and who may import and see a draft."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service import storage
from service.agencies import service as agency_service
from service.config import Settings
from service.database import dispose_engines
from service.main import create_app
from service.models import Agency, AuditLog, Plan, PlanStatus, User, UserRole
from service.plans.parser import parse_bytes
from tests.factories import auth_headers, user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
PLAN_FILES = sorted(FIXTURES.glob("*.txt"), key=lambda p: p.name)
THANH_LIEM = FIXTURES / "thanh-liem-2021.txt"
LABOUR_OFFICE = "Phòng Lao động - Thương binh và Xã hội"
HEALTH_OFFICE = "Phòng Y tế"


# --- helpers shared with test_import_review.py --------------------------------------------------


def agency_named(session: Session, name: str) -> Agency:
    row = session.scalar(select(Agency).where(Agency.name == name))
    assert row is not None, name
    return row


def seeded_user(session: Session, role: UserRole, agency_name: str | None = None) -> User:
    """A user of a registry agency (the registry is loaded first, as import would)."""
    agency_service.ensure_seeded(session)
    return user(session, role, agency_named(session, agency_name) if agency_name else None)


def headers_of(session: Session, person: User) -> dict[str, str]:
    headers = auth_headers(session, person)
    session.commit()
    return headers


def headers_for(session: Session, role: UserRole, agency_name: str | None = None) -> dict[str, str]:
    return headers_of(session, seeded_user(session, role, agency_name))


def upload(
    client: TestClient, path: Path, headers: dict[str, str], content: bytes | None = None
) -> Any:
    data = path.read_bytes() if content is None else content
    return client.post(
        "/api/plans/imports", files={"file": (path.name, data, "text/plain")}, headers=headers
    )


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "plans"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def plan_count(session: Session) -> int:
    session.expire_all()
    count = session.scalar(select(func.count()).select_from(Plan)) or 0
    # End the read: an open transaction would hold locks other connections may need.
    session.rollback()
    return count


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def lead(session: Session) -> dict[str, str]:
    """The labour office's lead-office user: the usual importer and reviewer."""
    return headers_for(session, UserRole.LEAD_OFFICE, LABOUR_OFFICE)


# --- import over HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_each_fixture_plan_imports_as_a_draft(
    client: TestClient, session: Session, settings: Settings, lead: dict[str, str], path: Path
) -> None:
    parsed = parse_bytes(path.read_bytes(), path.name, calendar=settings.report_calendar())

    response = upload(client, path, lead)

    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["status"] == "draft"
    assert plan["title"] == parsed.plan.title
    assert plan["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert plan["warnings"] == parsed.warnings
    assert plan["lead_agency_id"] == agency_named(session, LABOUR_OFFICE).id
    review = plan["review"]
    assert [a["heading"] for a in review["assignments"]] == [a.heading for a in parsed.assignments]
    assert [len(a["tasks"]) for a in review["assignments"]] == [
        len(a.tasks) for a in parsed.assignments
    ]
    assert len(review["deadlines"]) == len(parsed.deadlines)
    # Every body the registry knows resolves to its agency row.
    for assignment, extracted in zip(review["assignments"], parsed.assignments, strict=True):
        for member, canonical in zip(assignment["members"], extracted.canonical, strict=True):
            if canonical is not None:
                assert member["agency_name"] == canonical
    # The file is kept, byte for byte, and can be downloaded again.
    [kept] = stored_files(settings)
    assert kept.read_bytes() == path.read_bytes()
    source = client.get(f"/api/plans/{plan['id']}/source", headers=lead)
    assert source.status_code == 200
    assert source.content == path.read_bytes()


def test_a_table_rows_own_date_is_kept_in_the_draft(
    client: TestClient, settings: Settings, lead: dict[str, str]
) -> None:
    path = FIXTURES / "extra" / "b3-huyen-duc-tho-de-an-06-2025.txt"
    parsed = parse_bytes(path.read_bytes(), path.name, calendar=settings.report_calendar())
    expected = [str(task.due_on) for a in parsed.assignments for task in a.tasks if task.due_on]
    assert expected, "the fixture's table has dated rows"

    response = upload(client, path, lead)

    assert response.status_code == 201, response.text
    review = response.json()["review"]
    kept = [task["due_on"] for a in review["assignments"] for task in a["tasks"] if task["due_on"]]
    assert kept == expected


def test_the_group_of_communes_resolves_to_a_group(
    client: TestClient, session: Session, lead: dict[str, str]
) -> None:
    plan = upload(client, THANH_LIEM, lead).json()

    last = plan["review"]["assignments"][-1]
    [communes] = last["members"]
    assert communes["agency_name"] == "Ủy ban nhân dân các xã, thị trấn"
    assert communes["is_group"]
    assert communes["member_count"] == 0
    assert plan["review"]["empty_groups"] == ["Ủy ban nhân dân các xã, thị trấn"]


def test_an_alias_added_in_the_database_resolves_at_the_next_import(
    client: TestClient, session: Session, lead: dict[str, str]
) -> None:
    agency_service.ensure_seeded(session)
    health = agency_named(session, HEALTH_OFFICE)
    text = THANH_LIEM.read_text(encoding="utf-8").replace("Phòng Y tế", "Phòng Y tế - Dân số")
    agency_service.remember_alias(session, agency=health, alias="Phòng Y tế - Dân số")
    session.commit()

    plan = upload(client, THANH_LIEM, lead, content=text.encode()).json()

    members = [m for a in plan["review"]["assignments"] for m in a["members"]]
    found = [m for m in members if m["name"] == "Phòng Y tế - Dân số"]
    assert found
    assert found[0]["agency_id"] == health.id


def test_the_same_file_twice_is_a_409_with_the_existing_plan(
    client: TestClient, session: Session, settings: Settings, lead: dict[str, str]
) -> None:
    first = upload(client, THANH_LIEM, lead).json()

    again = upload(client, THANH_LIEM, lead)

    assert again.status_code == 409
    assert error_code(again) == "plan.duplicate"
    assert again.json()["error"]["details"] == {"plan_id": first["id"]}
    assert str(first["id"]) in again.json()["error"]["message"]
    assert plan_count(session) == 1
    assert len(stored_files(settings)) == 1


def test_a_duplicate_of_a_plan_the_caller_cannot_see_does_not_reveal_it(
    client: TestClient, session: Session, lead: dict[str, str]
) -> None:
    upload(client, THANH_LIEM, lead)
    other_lead = headers_for(session, UserRole.LEAD_OFFICE, HEALTH_OFFICE)

    again = upload(client, THANH_LIEM, other_lead)

    assert again.status_code == 409
    assert error_code(again) == "plan.duplicate_elsewhere"
    assert again.json()["error"]["details"] == {}


def test_a_lead_office_import_is_led_by_its_own_agency(
    client: TestClient, session: Session
) -> None:
    health_lead = headers_for(session, UserRole.LEAD_OFFICE, HEALTH_OFFICE)

    plan = upload(client, THANH_LIEM, health_lead).json()

    assert plan["lead_agency_id"] == agency_named(session, HEALTH_OFFICE).id
    assert any(LABOUR_OFFICE in w and HEALTH_OFFICE in w for w in plan["warnings"])
    assert client.get(f"/api/plans/{plan['id']}", headers=health_lead).status_code == 200


def test_an_administrator_import_keeps_the_parsed_lead(
    client: TestClient, session: Session
) -> None:
    admin = headers_for(session, UserRole.ADMIN)
    plan = upload(client, THANH_LIEM, admin).json()
    assert plan["lead_agency_id"] == agency_named(session, LABOUR_OFFICE).id
    assert plan["report_to_agency_id"] == agency_named(session, LABOUR_OFFICE).id


def test_the_import_is_audited(client: TestClient, session: Session, lead: dict[str, str]) -> None:
    plan = upload(client, THANH_LIEM, lead).json()
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "plan.import")).one()
    assert audit.entity_id == plan["id"]
    assert audit.detail["filename"] == "thanh-liem-2021.txt"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\lan\\Kế hoạch 12.txt", "Kế hoạch 12.txt"),
    ],
)
def test_the_uploaded_name_is_only_a_label(
    client: TestClient,
    session: Session,
    settings: Settings,
    lead: dict[str, str],
    sent: str,
    kept: str,
) -> None:
    response = client.post(
        "/api/plans/imports",
        files={"file": (sent, THANH_LIEM.read_bytes(), "text/plain")},
        headers=lead,
    )
    assert response.status_code == 201, response.text
    assert response.json()["source_filename"] == kept
    [stored] = stored_files(settings)
    assert stored.is_relative_to(settings.data_dir / "plans")
    assert kept not in stored.name


# --- bad input and failures leave nothing behind ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "read.empty"),
        (bytes(range(256)) * 40, "read.binary"),
        ("Kính gửi các đơn vị.\nĐề nghị báo cáo tình hình.\n".encode(), "parse.no_section"),
        ((FIXTURES / "extra" / "english-district-progress-report-2023.txt").read_bytes(), None),
    ],
    ids=["empty", "binary", "not-a-plan", "english"],
)
def test_a_file_that_does_not_parse_is_a_422_and_writes_nothing(
    client: TestClient,
    session: Session,
    settings: Settings,
    lead: dict[str, str],
    content: bytes,
    code: str | None,
) -> None:
    response = upload(client, THANH_LIEM, lead, content=content)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"].startswith(("read.", "parse."))
    if code is not None:
        assert error["code"] == code
    assert error["message"]
    assert plan_count(session) == 0
    assert stored_files(settings) == []


def test_a_missing_file_field_is_a_422(client: TestClient, lead: dict[str, str]) -> None:
    response = client.post("/api/plans/imports", headers=lead)
    assert response.status_code == 422
    assert error_code(response) == "request.invalid"


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    """The app with a 1 MB upload limit."""
    with TestClient(create_app(settings.model_copy(update={"max_upload_mb": 1}))) as client:
        yield client
    dispose_engines()


def test_a_file_over_the_limit_is_a_413_and_writes_nothing(
    small_client: TestClient, session: Session, settings: Settings, lead: dict[str, str]
) -> None:
    big = THANH_LIEM.read_bytes() * (2 * 1024 * 1024 // THANH_LIEM.stat().st_size)

    response = upload(small_client, THANH_LIEM, lead, content=big)

    assert response.status_code == 413
    assert error_code(response) == "storage.too_large"
    assert "1 MB" in response.json()["error"]["message"]
    assert plan_count(session) == 0
    assert stored_files(settings) == []


@pytest.fixture
def failing_plan_insert(engine: Engine, backend: str) -> Iterator[None]:
    """The database refuses every new plan row: a database error after the file is written."""
    with engine.begin() as connection:
        if backend == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_plans BEFORE INSERT ON plans "
                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_plans() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'refused by test'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_plans BEFORE INSERT ON plans "
                "FOR EACH ROW EXECUTE FUNCTION refuse_plans()"
            )
    yield
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refuse_plans" + ("" if backend == "sqlite" else " ON plans")
        )
        if backend != "sqlite":
            connection.exec_driver_sql("DROP FUNCTION refuse_plans()")


def test_a_database_error_after_the_file_was_written_leaves_no_file(
    session: Session,
    settings: Settings,
    lead: dict[str, str],
    failing_plan_insert: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: list[Path] = []
    save = storage.save

    def save_and_note(*args: Any, **kwargs: Any) -> storage.StoredFile:
        stored = save(*args, **kwargs)
        written.append(storage.resolve(stored.path, settings=settings))
        assert written[-1].exists()
        return stored

    monkeypatch.setattr(storage, "save", save_and_note)

    # As a browser sees it: a 500 response, not the exception the test client re-raises.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = upload(client, THANH_LIEM, lead)
    dispose_engines()

    assert response.status_code == 500
    assert error_code(response) == "server.error"
    assert len(written) == 1
    assert not written[0].exists()
    assert stored_files(settings) == []
    assert plan_count(session) == 0


def test_a_data_directory_that_cannot_be_written_is_a_clear_error(
    client: TestClient, session: Session, settings: Settings, lead: dict[str, str]
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A file where the plans folder should be: every write under it fails.
    (settings.data_dir / "plans").write_text("not a folder")

    response = upload(client, THANH_LIEM, lead)

    assert response.status_code == 503
    assert error_code(response) == "storage.unavailable"
    assert "quản trị viên" in response.json()["error"]["message"]
    assert plan_count(session) == 0


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_file(
    client: TestClient,
    session: Session,
    settings: Settings,
    lead: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage.os, "fsync", disk_full)

    response = upload(client, THANH_LIEM, lead)

    assert response.status_code == 507
    assert error_code(response) == "storage.disk_full"
    assert stored_files(settings) == []
    assert plan_count(session) == 0


def test_a_file_that_lands_on_disk_damaged_is_refused_and_removed(
    client: TestClient,
    session: Session,
    settings: Settings,
    lead: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replace = os.replace

    def replace_and_lose_the_tail(source: Path, target: Path) -> None:
        replace(source, target)
        with open(target, "r+b") as f:
            f.truncate(100)

    monkeypatch.setattr(storage.os, "replace", replace_and_lose_the_tail)

    response = upload(client, THANH_LIEM, lead)

    assert response.status_code == 500
    assert error_code(response) == "storage.corrupt"
    assert stored_files(settings) == []
    assert plan_count(session) == 0


# --- who may import and see a draft -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "agency_name"),
    [
        (UserRole.FOCAL_POINT, LABOUR_OFFICE),
        (UserRole.LEADERSHIP, None),
        (UserRole.LEAD_OFFICE, None),
    ],
    ids=["focal-point", "leadership", "lead-office-without-agency"],
)
def test_only_a_lead_office_or_an_administrator_imports(
    client: TestClient,
    session: Session,
    settings: Settings,
    role: UserRole,
    agency_name: str | None,
) -> None:
    headers = headers_for(session, role, agency_name)

    response = upload(client, THANH_LIEM, headers)

    assert response.status_code == 403
    assert error_code(response) == "auth.forbidden"
    assert plan_count(session) == 0
    assert stored_files(settings) == []


def test_import_needs_sign_in(client: TestClient) -> None:
    assert upload(client, THANH_LIEM, {}).status_code == 401


def test_a_draft_is_invisible_outside_its_lead_office(
    client: TestClient, session: Session, lead: dict[str, str]
) -> None:
    plan = upload(client, THANH_LIEM, lead).json()
    other_lead = headers_for(session, UserRole.LEAD_OFFICE, HEALTH_OFFICE)
    # A focal point of an agency the draft names: still nothing to see before activation.
    focal = headers_for(session, UserRole.FOCAL_POINT, HEALTH_OFFICE)
    leadership = headers_for(session, UserRole.LEADERSHIP)

    for headers in (other_lead, focal):
        assert client.get(f"/api/plans/{plan['id']}", headers=headers).status_code == 404
        assert client.get(f"/api/plans/{plan['id']}/source", headers=headers).status_code == 404
        assert client.get("/api/plans", headers=headers).json()["total"] == 0
    assert client.get(f"/api/plans/{plan['id']}", headers=leadership).status_code == 200
    assert client.get("/api/plans", headers=lead).json()["total"] == 1


def test_list_filters_by_status_and_text(
    client: TestClient, session: Session, lead: dict[str, str]
) -> None:
    for path in PLAN_FILES:
        upload(client, path, lead)

    everything = client.get("/api/plans", headers=lead).json()
    drafts = client.get("/api/plans", params={"status": "draft", "limit": 2}, headers=lead).json()
    active = client.get("/api/plans", params={"status": "active"}, headers=lead).json()
    found = client.get("/api/plans", params={"q": "tuy-phuoc"}, headers=lead).json()
    bad = client.get("/api/plans", params={"status": "lost"}, headers=lead)

    assert everything["total"] == len(PLAN_FILES)
    assert (drafts["total"], len(drafts["items"])) == (len(PLAN_FILES), 2)
    assert active["total"] == 0
    assert [p["title"] for p in found["items"]] == [
        "Triển khai thực hiện Chương trình giảm nghèo, giải quyết việc làm và đào tạo nghề "
        "trên địa bàn huyện năm 2024"
    ]
    assert bad.status_code == 422


# --- the command line ---------------------------------------------------------------------------


def dondoc(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DONDOC_DATABASE_URL": database_url,
        "DONDOC_DATA_DIR": str(data_dir),
        "DONDOC_ENVIRONMENT": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
    )


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_cli_import_of_each_fixture_plan(
    database_url: str, session: Session, tmp_path: Path, path: Path
) -> None:
    data_dir = tmp_path / "cli-data"

    run = dondoc(database_url, data_dir, "plans", "import", str(path))

    assert run.returncode == 0, run.stderr
    plan = session.scalars(select(Plan)).one()
    assert run.stdout.startswith(f"Đã lưu bản nháp kế hoạch số {plan.id}: {plan.title}")
    assert f"/api/plans/{plan.id}" in run.stdout
    assert plan.status == PlanStatus.DRAFT
    assert plan.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert plan.created_by_id is None
    assert plan.source_path is not None
    assert (data_dir / plan.source_path).read_bytes() == path.read_bytes()


def test_cli_import_as_a_lead_office_and_what_it_prints(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    person = seeded_user(session, UserRole.LEAD_OFFICE, HEALTH_OFFICE)
    session.commit()

    run = dondoc(
        database_url,
        tmp_path / "d",
        "plans",
        "import",
        str(THANH_LIEM),
        "--as",
        person.email.upper(),
    )

    assert run.returncode == 0, run.stderr
    plan = session.scalars(select(Plan)).one()
    assert plan.created_by_id == person.id
    assert plan.lead_agency_id == agency_named(session, HEALTH_OFFICE).id
    assert "Cần kiểm tra" in run.stdout
    assert "nhóm chưa có thành viên: Ủy ban nhân dân các xã, thị trấn" in run.stdout
    assert f"POST /api/plans/{plan.id}/activate" in run.stdout


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--as", "ai.do@example.vn"], "Không có tài khoản đang hoạt động với e-mail"),
        (["--as", "focal"], "không có quyền"),
    ],
    ids=["unknown-user", "focal-point"],
)
def test_cli_import_refuses_a_user_who_may_not_import(
    database_url: str, session: Session, tmp_path: Path, args: list[str], phrase: str
) -> None:
    focal = seeded_user(session, UserRole.FOCAL_POINT, LABOUR_OFFICE)
    session.commit()
    args = [focal.email if a == "focal" else a for a in args]

    run = dondoc(database_url, tmp_path / "d", "plans", "import", str(THANH_LIEM), *args)

    assert run.returncode == 2
    assert phrase in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    assert plan_count(session) == 0


def test_cli_bad_files_are_one_sentence_and_exit_2(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    empty = tmp_path / "rong.txt"
    empty.write_bytes(b"")

    runs = [
        dondoc(database_url, tmp_path / "d", "plans", "import", str(empty)),
        dondoc(database_url, tmp_path / "d", "plans", "import", str(tmp_path / "khong-co.txt")),
    ]

    for run in runs:
        assert run.returncode == 2
        assert run.stderr.startswith("Lỗi: ")
        assert len(run.stderr.strip().splitlines()) == 1
    assert "rỗng" in runs[0].stderr
    assert "Không tìm thấy tệp" in runs[1].stderr
    assert plan_count(session) == 0
    assert not (tmp_path / "d" / "plans").exists()


def test_cli_duplicate_names_the_existing_plan(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    first = dondoc(database_url, tmp_path / "d", "plans", "import", str(THANH_LIEM))
    again = dondoc(database_url, tmp_path / "d", "plans", "import", str(THANH_LIEM))

    plan = session.scalars(select(Plan)).one()
    assert first.returncode == 0, first.stderr
    assert again.returncode == 2
    assert f"là kế hoạch số {plan.id}" in again.stderr
