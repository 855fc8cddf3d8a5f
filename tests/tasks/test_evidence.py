"""Evidence files: accepted by content, stored under data_dir/evidence, refused with nothing written."""

from __future__ import annotations

import errno
import io
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import evidence
from service.clock import FixedClock
from service.config import Settings
from service.errors import AppError
from service.evidence import IncomingFile
from service.models import TaskState
from service.tasks import service as task_service
from service.tasks.schemas import StatusUpdateCreate
from tests.tasks.builders import World, stored_files, written


def _docx() -> bytes:
    document = Document()
    document.add_paragraph("Báo cáo kết quả khám sức khỏe cho người cao tuổi")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Xã", "Số người được khám"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(20)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40) + b"\xff\xd9"
TEXT = "Đã khám cho 120 người cao tuổi.\r\nKinh phí: 12.000.000 đồng.\n".encode()


def _post(
    api: TestClient,
    world: World,
    files: list[tuple[str, bytes]],
    *,
    who: str = "health",
    version: int = 1,
) -> Any:
    return api.post(
        f"/api/tasks/{world.health_task.id}/updates",
        data={"version": str(version), "state": "dang_thuc_hien", "progress": "50"},
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
        headers=world.headers[who],
    )


@pytest.mark.parametrize(
    ("name", "content", "shown_as", "content_type"),
    [
        ("Báo cáo.pdf", PDF, "Báo cáo.pdf", "application/pdf"),
        (
            "Báo cáo.docx",
            _docx(),
            "Báo cáo.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "Số liệu.xlsx",
            _xlsx(),
            "Số liệu.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("ảnh.png", PNG, "ảnh.png", "image/png"),
        ("ảnh hiện trường.jpeg", JPEG, "ảnh hiện trường.jpg", "image/jpeg"),
        ("ghi chú.txt", TEXT, "ghi chú.txt", "text/plain; charset=utf-8"),
        # The name follows what the bytes are: a JPEG called .png, a PDF without extension.
        ("ảnh từ Zalo.png", JPEG, "ảnh từ Zalo.jpg", "image/jpeg"),
        ("bien-ban", PDF, "bien-ban.pdf", "application/pdf"),
    ],
)
def test_allowed_files_are_stored_and_can_be_downloaded(
    api: TestClient,
    world: World,
    settings: Settings,
    name: str,
    content: bytes,
    shown_as: str,
    content_type: str,
) -> None:
    response = _post(api, world, [(name, content)])
    assert response.status_code == 201, response.text
    (attachment,) = response.json()["update"]["attachments"]
    assert attachment["filename"] == shown_as
    assert attachment["content_type"] == content_type
    assert attachment["size_bytes"] == len(content)

    (stored,) = stored_files(settings.data_dir)
    assert stored.is_relative_to(settings.data_dir / "evidence")
    assert stored.read_bytes() == content
    assert name not in str(stored)

    download = api.get(attachment["url"], headers=world.headers["lead"])
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == content_type
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_several_files_in_one_update(api: TestClient, world: World, settings: Settings) -> None:
    response = _post(api, world, [("a.pdf", PDF), ("b.png", PNG), ("c.txt", TEXT)])
    assert response.status_code == 201
    names = [a["filename"] for a in response.json()["update"]["attachments"]]
    assert names == ["a.pdf", "b.png", "c.txt"]
    assert len(stored_files(settings.data_dir)) == 3
    history = api.get(
        f"/api/tasks/{world.health_task.id}/updates", headers=world.headers["health"]
    ).json()
    assert [a["filename"] for a in history["items"][0]["attachments"]] == names


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\boot.ini", "..", "anh\u202egnp.pdf", "thư mục/báo cáo.pdf"],
)
def test_hostile_names_are_refused(
    api: TestClient, session: Session, world: World, settings: Settings, name: str
) -> None:
    before = written(session, settings.data_dir)
    response = _post(api, world, [("ok.pdf", PDF), (name, PDF)])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "evidence.bad_name"
    assert written(session, settings.data_dir) == before
    assert not (settings.data_dir / "evidence").exists()


@pytest.mark.parametrize("name", ["a\x00b.pdf", "a\x1bb.pdf", "/etc/passwd", "C:\\x.pdf"])
def test_names_with_control_characters_or_paths_are_refused(name: str) -> None:
    with pytest.raises(AppError) as raised:
        evidence.check_files([IncomingFile(name, io.BytesIO(PDF))], max_upload_mb=1)
    assert raised.value.code == "evidence.bad_name"
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64)),
        ("cu.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)),
        ("nen.zip", _zip("a.txt")),
        ("macro.docx", _zip("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin")),
        ("trang.html", b"<html>\x00<script>alert(1)</script></html>"),
        ("cp1258.txt", "Báo cáo".encode("latin-1")),
        ("hong.pdf.docx", b"PK\x03\x04 broken zip"),
    ],
)
def test_disallowed_content_is_refused(
    api: TestClient,
    session: Session,
    world: World,
    settings: Settings,
    name: str,
    content: bytes,
) -> None:
    before = written(session, settings.data_dir)
    response = _post(api, world, [("ok.pdf", PDF), (name, content)])
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "evidence.not_allowed"
    assert name in error["message"]
    assert ".pdf, .docx, .xlsx, .jpg, .png, .txt" in error["message"]
    assert written(session, settings.data_dir) == before


def test_an_empty_file_is_refused(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    response = _post(api, world, [("rong.pdf", b"")])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "evidence.empty"
    assert written(session, settings.data_dir) == before


def test_too_many_files_are_refused(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    response = _post(api, world, [(f"{n}.pdf", PDF) for n in range(evidence.MAX_FILES + 1)])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "evidence.too_many"
    assert written(session, settings.data_dir) == before


class TestSizeLimit:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            environment="test",
            database_url=database_url,
            data_dir=tmp_path / "data",
            max_upload_mb=1,
        )

    def test_a_file_over_the_limit_is_refused(
        self, api: TestClient, session: Session, world: World, settings: Settings
    ) -> None:
        before = written(session, settings.data_dir)
        big = PDF + bytes(1024 * 1024 - len(PDF) + 1)
        response = _post(api, world, [("ok.pdf", PDF), ("lon.pdf", big)])
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "evidence.too_large"
        assert "1 MB" in response.json()["error"]["message"]
        assert written(session, settings.data_dir) == before

    def test_a_file_at_the_limit_is_accepted(
        self, api: TestClient, world: World, settings: Settings
    ) -> None:
        exact = PDF + bytes(1024 * 1024 - len(PDF))
        assert _post(api, world, [("vua.pdf", exact)]).status_code == 201

    def test_a_huge_body_is_refused_before_it_is_read(
        self, api: TestClient, session: Session, world: World, settings: Settings
    ) -> None:
        before = written(session, settings.data_dir)
        huge = PDF + bytes(12 * 1024 * 1024)
        response = _post(api, world, [("khong-lo.pdf", huge)])
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "evidence.request_too_large"
        assert written(session, settings.data_dir) == before


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(
    api: TestClient,
    session: Session,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_copy = evidence.shutil.copyfileobj
    calls: list[int] = []

    def copy_until_full(source: BinaryIO, target: BinaryIO, length: int = 0) -> None:
        calls.append(1)
        if len(calls) == 1:
            real_copy(source, target, length)
            return
        target.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evidence.shutil, "copyfileobj", copy_until_full)
    before = written(session, settings.data_dir)
    response = _post(api, world, [("mot.pdf", PDF), ("hai.pdf", PDF)])
    assert response.status_code == 507
    assert response.json()["error"]["code"] == "evidence.disk_full"
    assert "hết dung lượng" in response.json()["error"]["message"]
    assert len(calls) == 2
    assert written(session, settings.data_dir) == before


def test_an_unwritable_store_is_a_clear_error_and_leaves_nothing(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "evidence").write_text("not a directory")
    before = written(session, settings.data_dir)
    response = _post(api, world, [("mot.pdf", PDF)])
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "evidence.storage_failed"
    assert written(session, settings.data_dir) == before


def test_files_of_a_rolled_back_update_are_removed(
    session: Session, world: World, settings: Settings, clock: FixedClock
) -> None:
    result = task_service.update_status(
        session,
        user=world.users["health"],
        task_id=world.health_task.id,
        data=StatusUpdateCreate(version=1, state=TaskState.DANG_THUC_HIEN, progress=10),
        files=[IncomingFile("a.pdf", io.BytesIO(PDF)), IncomingFile("b.png", io.BytesIO(PNG))],
        clock=clock,
        settings=settings,
    )
    assert len(result.update.attachments) == 2
    assert len(stored_files(settings.data_dir)) == 2
    session.rollback()
    assert stored_files(settings.data_dir) == []


def test_files_of_a_committed_update_stay(
    session: Session, world: World, settings: Settings, clock: FixedClock
) -> None:
    task_service.update_status(
        session,
        user=world.users["health"],
        task_id=world.health_task.id,
        data=StatusUpdateCreate(version=1, state=TaskState.DANG_THUC_HIEN, progress=10),
        files=[IncomingFile("a.pdf", io.BytesIO(PDF))],
        clock=clock,
        settings=settings,
    )
    session.commit()
    session.rollback()  # a later transaction rolling back must not touch committed files
    assert len(stored_files(settings.data_dir)) == 1


def test_who_may_download(api: TestClient, world: World, settings: Settings) -> None:
    url = _post(api, world, [("a.pdf", PDF)]).json()["update"]["attachments"][0]["url"]
    for who in ("health", "lead", "admin", "leadership"):
        assert api.get(url, headers=world.headers[who]).status_code == 200, who
    for who in ("outsider", "outsider_lead"):
        response = api.get(url, headers=world.headers[who])
        assert response.status_code == 404, who
        assert response.json()["error"]["code"] == "attachment.not_found"
    assert api.get(url).status_code == 401
    unknown = api.get("/api/attachments/987654", headers=world.headers["admin"])
    assert unknown.status_code == 404


def test_a_file_gone_from_disk_is_reported(
    api: TestClient, world: World, settings: Settings
) -> None:
    url = _post(api, world, [("a.pdf", PDF)]).json()["update"]["attachments"][0]["url"]
    for path in stored_files(settings.data_dir):
        path.unlink()
    response = api.get(url, headers=world.headers["health"])
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "attachment.missing"


def test_a_report_carries_evidence(api: TestClient, world: World, settings: Settings) -> None:
    response = api.post(
        f"/api/obligations/{world.health_report.id}/submit",
        data={"version": "1", "narrative": "Báo cáo 6 tháng đầu năm 2025 của Phòng Y tế"},
        files=[("files", ("Báo cáo 6 tháng.docx", _docx(), "application/octet-stream"))],
        headers=world.headers["health"],
    )
    assert response.status_code == 200, response.text
    (attachment,) = response.json()["attachments"]
    assert attachment["filename"] == "Báo cáo 6 tháng.docx"
    detail = api.get(
        f"/api/obligations/{world.health_report.id}", headers=world.headers["lead"]
    ).json()
    assert detail["attachments"] == [attachment]
    assert api.get(attachment["url"], headers=world.headers["lead"]).status_code == 200
    assert api.get(attachment["url"], headers=world.headers["outsider"]).status_code == 404


def test_a_refused_report_attachment_leaves_the_report_unsent(
    api: TestClient, session: Session, world: World, settings: Settings
) -> None:
    before = written(session, settings.data_dir)
    response = api.post(
        f"/api/obligations/{world.health_report.id}/submit",
        data={"version": "1", "narrative": "Báo cáo"},
        files=[("files", ("../bao-cao.pdf", PDF, "application/pdf"))],
        headers=world.headers["health"],
    )
    assert response.status_code == 400
    assert written(session, settings.data_dir) == before
