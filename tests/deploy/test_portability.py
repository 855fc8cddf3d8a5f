"""`dondoc export` / `dondoc import`: a whole deployment round-trips with nothing lost, and a file
that cannot be imported is refused with nothing written."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.database import SessionFactory, dispose_engines, make_engine, upgrade_database
from service.i18n import t
from service.main import create_app
from service.models import Agency, AgencyKind, AgencyLevel, Notification, NotificationStatus
from service.portability import (
    PortabilityError,
    export_deployment,
    import_deployment,
    table_counts,
)
from tests.deploy.processes import run
from tests.tasks import builders

NOW = datetime(2025, 6, 20, 3, tzinfo=UTC)
PLAN_FILE = Path(__file__).parents[1] / "fixtures" / "plans" / "tuy-phuoc-2024.txt"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- A deployment worth exporting ---------------------------------------------------------------


def populate(client: TestClient, session: Session) -> builders.World:
    """Rows of every kind, uploaded files of both kinds, and links that point forward."""
    world = builders.build_world(session)
    # A parent created after its child, and a plan whose parent plan has a larger id: a naive
    # import in id order would break the foreign keys.
    province = builders.add_agency(session, "UBND huyện Tuy Phước")
    world.health.parent_id = province.id
    world.plan.parent_plan_id = world.other_plan.id
    session.add(
        Notification(
            dedup_key="export:1",
            recipient_email="yte@tuyphuoc.gov.vn",
            kind="test",
            subject="Nhắc hạn báo cáo",
            body_text="Báo cáo 6 tháng đầu năm 2025 — hạn 10/06/2025.",
            status=NotificationStatus.SENT,
            sent_at=NOW,
        )
    )
    session.commit()
    imported = client.post(
        "/api/plans/imports",
        files={"file": (PLAN_FILE.name, PLAN_FILE.read_bytes(), "text/plain")},
        headers=world.headers["lead"],
    )
    assert imported.status_code == 201, imported.text
    updated = client.post(
        f"/api/tasks/{world.health_task.id}/updates",
        data={"version": "1", "state": "dang_thuc_hien", "progress": "40", "narrative": "Đã khám"},
        files=[("files", ("Biên bản khám.pdf", PDF, "application/pdf"))],
        headers=world.headers["health"],
    )
    assert updated.status_code == 201, updated.text
    return world


def lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return [json.loads(line) for line in f if line.strip()]


def body(path: Path) -> list[dict[str, Any]]:
    """An export without its header (which says when and from which backend)."""
    header, *rest = lines(path)
    assert header["format"] == "dondoc-export"
    return rest


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "sqlite3" not in path.name
    }


# --- A second, empty database -------------------------------------------------------------------


@pytest.fixture
def target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for an empty database at the latest schema and an empty data directory."""
    if backend == "sqlite":
        path = tmp_path / "target" / "dondoc.sqlite3"
        path.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_create_postgres_database")()
        upgrade_database(url)
    yield Settings(environment="test", database_url=url, data_dir=tmp_path / "target-data")
    dispose_engines()


@pytest.fixture
def engines(settings: Settings, target: Settings) -> Iterator[tuple[Engine, Engine]]:
    source = make_engine(settings.effective_database_url)
    destination = make_engine(target.effective_database_url)
    yield source, destination
    source.dispose()
    destination.dispose()


# --- Round trip ---------------------------------------------------------------------------------


def test_a_deployment_round_trips_with_nothing_lost(
    client: TestClient,
    session: Session,
    settings: Settings,
    target: Settings,
    engines: tuple[Engine, Engine],
    tmp_path: Path,
) -> None:
    world = populate(client, session)
    source, destination = engines
    exported = tmp_path / "dondoc.jsonl"

    written = export_deployment(source, exported, settings=settings, now=NOW)
    loaded = import_deployment(destination, exported, settings=target)

    with source.connect() as connection:
        counts = table_counts(connection)
    assert written.rows == loaded.rows == counts
    assert all(counts[name] for name in ("agencies", "plans", "tasks", "attachments", "audit_log"))
    assert written.files == loaded.files == 2  # the plan's source file and the evidence file
    assert written.missing_files == []
    # Exported again from the copy: the same rows, the same files, byte for byte.
    again = tmp_path / "again.jsonl"
    export_deployment(destination, again, settings=target, now=NOW)
    assert body(again) == body(exported)
    assert files_under(target.data_dir) == files_under(settings.data_dir)

    # The restored service works: the same API token, the same evidence download.
    with TestClient(create_app(target)) as restored:
        task = restored.get(f"/api/tasks/{world.health_task.id}", headers=world.headers["lead"])
        assert task.status_code == 200
        assert task.json()["progress"] == 40
        updates = restored.get(
            f"/api/tasks/{world.health_task.id}/updates", headers=world.headers["lead"]
        ).json()
        items = updates["items"] if isinstance(updates, dict) else updates
        url = items[0]["attachments"][0]["url"]
        assert restored.get(url, headers=world.headers["lead"]).content == PDF
    # New rows are numbered after the imported ones (PostgreSQL sequences moved past them).
    with SessionFactory(bind=destination) as copy:
        largest = max(copy.scalars(select(Agency.id)))
        added = Agency(name="Phòng Mới", level=AgencyLevel.DISTRICT, kind=AgencyKind.DEPARTMENT)
        copy.add(added)
        copy.commit()
        assert added.id == largest + 1


@pytest.mark.postgres
def test_a_trial_on_sqlite_moves_to_postgresql(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sqlite_path = tmp_path / "trial" / "dondoc.sqlite3"
    sqlite_path.parent.mkdir()
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), sqlite_path)
    trial = Settings(
        environment="test", database_url=f"sqlite:///{sqlite_path}", data_dir=tmp_path / "trial"
    )
    postgres_url = request.getfixturevalue("_create_postgres_database")()
    upgrade_database(postgres_url)
    production = Settings(
        environment="test", database_url=postgres_url, data_dir=tmp_path / "production"
    )
    source, destination = make_engine(trial.effective_database_url), make_engine(postgres_url)
    try:
        with TestClient(create_app(trial)) as client, SessionFactory(bind=source) as session:
            populate(client, session)
        exported = tmp_path / "trial.jsonl.gz"
        export_deployment(source, exported, settings=trial, now=NOW)
        import_deployment(destination, exported, settings=production)
        again = tmp_path / "again.jsonl"
        export_deployment(destination, again, settings=production, now=NOW)
        assert body(again) == body(exported)
        assert lines(again)[0]["dialect"] == "postgresql"
        assert files_under(production.data_dir) == files_under(trial.data_dir)
    finally:
        source.dispose()
        destination.dispose()
        dispose_engines()


# --- Refused, with nothing written --------------------------------------------------------------


@pytest.fixture
def exported(client: TestClient, session: Session, settings: Settings, tmp_path: Path) -> Path:
    populate(client, session)
    path = tmp_path / "dondoc.jsonl"
    engine = make_engine(settings.effective_database_url)
    export_deployment(engine, path, settings=settings, now=NOW)
    engine.dispose()
    return path


def rewrite(path: Path, entries: list[dict[str, Any]]) -> Path:
    changed = path.with_name("changed.jsonl")
    changed.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    return changed


def refused(engine: Engine, path: Path, target: Settings) -> PortabilityError:
    with engine.connect() as connection:
        before = table_counts(connection)
    with pytest.raises(PortabilityError) as caught:
        import_deployment(engine, path, settings=target)
    with engine.connect() as connection:
        assert table_counts(connection) == before, "rows were written"
    if target.data_dir.exists():
        assert not [p for p in target.data_dir.rglob("*") if p.is_file()], "files were left"
    return caught.value


def test_a_database_with_rows_is_refused(
    exported: Path, target: Settings, engines: tuple[Engine, Engine]
) -> None:
    _, destination = engines
    with SessionFactory(bind=destination) as session:
        builders.add_agency(session, "Phòng đã có sẵn")
        session.commit()
    error = refused(destination, exported, target)
    assert error.code == "portability.not_empty"
    assert error.message == t("portability.not_empty", table="agencies")


def test_an_export_of_another_schema_revision_is_refused(
    exported: Path, target: Settings, engines: tuple[Engine, Engine]
) -> None:
    header, *rest = lines(exported)
    older = rewrite(exported, [{**header, "revision": "0001_initial"}, *rest])
    error = refused(engines[1], older, target)
    assert error.code == "portability.other_revision"
    assert "0001_initial" in error.message


def test_a_database_never_migrated_is_refused(
    exported: Path, empty_database_url: str, tmp_path: Path
) -> None:
    empty = Settings(environment="test", database_url=empty_database_url, data_dir=tmp_path / "e")
    engine = make_engine(empty_database_url)
    try:
        with pytest.raises(PortabilityError) as caught:
            import_deployment(engine, exported, settings=empty)
    finally:
        engine.dispose()
    assert caught.value.code == "portability.not_migrated"
    assert "dondoc db upgrade" in caught.value.message


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        ("cut", "portability.truncated"),
        ("file", "portability.file_damaged"),
        ("json", "portability.bad_line"),
        ("column", "portability.columns"),
        ("value", "portability.bad_value"),
        ("order", "portability.bad_order"),
        ("path", "portability.bad_path"),
    ],
)
def test_a_damaged_export_is_refused_and_leaves_nothing_behind(
    exported: Path, target: Settings, engines: tuple[Engine, Engine], damage: str, code: str
) -> None:
    entries = lines(exported)
    first_file = next(i for i, e in enumerate(entries) if "file" in e)
    last_row = max(i for i, e in enumerate(entries) if "table" in e)
    if damage == "cut":
        # Cut after the first file was written: it must be removed again.
        entries = entries[: first_file + 2]
    elif damage == "file":
        entries[first_file + 1]["data"] = base64.b64encode(b"not the file").decode()
    elif damage == "column":
        entries[1]["row"]["nickname"] = "x"
    elif damage == "value":
        row = next(e for e in entries if e.get("table") == "notifications")["row"]
        row["sent_at"] = "hôm qua"
    elif damage == "order":
        entries.insert(last_row + 1, entries[1])
    elif damage == "path":
        entries[first_file + 1]["file"] = "../../etc/cron.d/dondoc"
    path = rewrite(exported, entries)
    if damage == "json":
        text = path.read_text().splitlines()
        text[3] = text[3][:-5]
        path.write_text("\n".join(text) + "\n")
    error = refused(engines[1], path, target)
    assert error.code == code
    if damage == "json":
        assert error.message == t("portability.bad_line", line=4)


def test_a_file_that_is_not_an_export_is_refused(
    target: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    plan = tmp_path / "ke-hoach.txt"
    plan.write_bytes(PLAN_FILE.read_bytes())
    error = refused(engines[1], plan, target)
    assert error.code == "portability.not_an_export"


# --- The commands -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_commands_export_and_import_a_compressed_file(
    client: TestClient,
    session: Session,
    settings: Settings,
    target: Settings,
    tmp_path: Path,
) -> None:
    populate(client, session)
    backup = tmp_path / "sao-luu.jsonl.gz"
    out = run(
        "export",
        str(backup),
        database_url=settings.effective_database_url,
        data_dir=settings.data_dir,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Đã xuất ")
    assert backup.read_bytes()[:2] == b"\x1f\x8b"
    assert not backup.with_name(backup.name + ".part").exists()

    target.data_dir.mkdir()
    into = run(
        "import", str(backup), database_url=target.effective_database_url, data_dir=target.data_dir
    )
    assert into.returncode == 0, into.stderr
    assert into.stdout.startswith("Đã nhập ")
    assert "2 tệp đính kèm" in into.stdout

    again = run(
        "import", str(backup), database_url=target.effective_database_url, data_dir=target.data_dir
    )
    assert again.returncode == 2
    assert again.stderr.strip().endswith(t("portability.not_empty", table="agencies"))
    assert "Traceback" not in again.stderr

    missing = run(
        "import",
        str(tmp_path / "khong-co.jsonl"),
        database_url=target.effective_database_url,
        data_dir=target.data_dir,
    )
    assert missing.returncode == 2
    assert t("portability.not_found", path=tmp_path / "khong-co.jsonl") in missing.stderr

    nowhere = run(
        "export",
        str(tmp_path / "khong-co-thu-muc" / "x.jsonl"),
        database_url=settings.effective_database_url,
        data_dir=settings.data_dir,
    )
    assert nowhere.returncode == 2
    assert "Không ghi được tệp" in nowhere.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_uploaded_file_missing_from_disk_is_named_not_silently_dropped(
    exported: Path, settings: Settings, target: Settings, engines: tuple[Engine, Engine]
) -> None:
    evidence = next((settings.data_dir / "evidence").rglob("*.pdf"))
    evidence.unlink()
    path = exported.with_name("without-evidence.jsonl")

    written = export_deployment(engines[0], path, settings=settings, now=NOW)

    relative = evidence.relative_to(settings.data_dir).as_posix()
    assert written.missing_files == [relative]
    assert lines(path)[-1]["end"]["missing_files"] == [relative]
    loaded = import_deployment(engines[1], path, settings=target)
    assert loaded.files == 1
    assert loaded.missing_files == [relative]
