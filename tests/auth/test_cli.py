"""The account commands, as an operator runs them: `dondoc db upgrade`, `users create`,
`tokens create`, and `serve` (with and without --demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from service.auth.passwords import verify_password
from service.auth.tokens import hash_token
from service.database import parse_database_url
from service.demo import DEMO_PASSWORD
from service.i18n import t
from service.models import ApiToken, User, UserRole
from tests.deploy.processes import free_port, serve

# How errors are reported does not depend on the database: those tests run once, on SQLite (each
# is a subprocess of a few seconds). What writes runs on both backends.
error_shape_only = pytest.mark.parametrize("backend", ["sqlite"])


def dondoc(
    *args: str, database_url: str, data_dir: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "DONDOC_DATABASE_URL": database_url,
            "DONDOC_DATA_DIR": str(data_dir),
            "DONDOC_ENVIRONMENT": "test",
            **env,
        },
    )


def _users(database_url: str) -> list[User]:
    engine = create_engine(parse_database_url(database_url))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(User).order_by(User.id)))
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema_then_accounts_can_be_made(
    empty_database_url: str, tmp_path: Path
) -> None:
    upgraded = dondoc("db", "upgrade", database_url=empty_database_url, data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == t("auth_cli.upgraded")

    created = dondoc(
        "users",
        "create",
        "Thuong.Truc@Huyen.example.vn",
        "--role",
        "lead_office",
        "--agency",
        "Phòng LĐ-TB&XH",
        "--name",
        "Trần Thị Lan",
        "--password",
        stdin="mat-khau-moi-1\nmat-khau-moi-1\n",
        database_url=empty_database_url,
        data_dir=tmp_path,
    )

    assert created.returncode == 0, created.stderr
    assert "thuong.truc@huyen.example.vn" in created.stdout
    assert "Phòng Lao động - Thương binh và Xã hội" in created.stdout
    assert "mat-khau-moi-1" not in created.stdout
    (user,) = _users(empty_database_url)
    assert user.role == UserRole.LEAD_OFFICE
    assert user.full_name == "Trần Thị Lan"
    assert verify_password(user.password_hash, "mat-khau-moi-1")


@error_shape_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["dm@xa.example.vn", "--role", "focal_point"],
            t("user.agency_required"),
        ),
        (
            ["dm@xa.example.vn", "--role", "truong_phong"],
            t(
                "auth_cli.bad_role",
                role="truong_phong",
                roles="admin, lead_office, focal_point, leadership",
            ),
        ),
        (
            ["dm@xa.example.vn", "--role", "focal_point", "--agency", "Phòng Không Tồn Tại"],
            t("auth_cli.unknown_agency", name="Phòng Không Tồn Tại"),
        ),
        (
            ["khong-phai-email", "--role", "admin"],
            t("auth_cli.invalid", fields="email"),
        ),
    ],
)
def test_bad_accounts_exit_2_with_one_sentence_and_write_nothing(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = dondoc("users", "create", *args, database_url=database_url, data_dir=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == t("cli.error", message=message)
    assert "Traceback" not in result.stderr
    assert _users(database_url) == []


@error_shape_only
def test_a_duplicate_account_is_refused(database_url: str, tmp_path: Path) -> None:
    first = dondoc(
        "users", "create", "a@example.vn", "--role", "admin", database_url=database_url,
        data_dir=tmp_path,
    )  # fmt: skip
    second = dondoc(
        "users", "create", "A@example.vn", "--role", "admin", database_url=database_url,
        data_dir=tmp_path,
    )  # fmt: skip

    assert first.returncode == 0, first.stderr
    assert second.returncode == 2
    assert t("user.email_taken", email="a@example.vn") in second.stderr
    assert len(_users(database_url)) == 1


def test_tokens_create_prints_the_token_once_on_stdout(database_url: str, tmp_path: Path) -> None:
    dondoc(
        "users", "create", "tich.hop@example.vn", "--role", "leadership",
        database_url=database_url, data_dir=tmp_path,
    )  # fmt: skip

    result = dondoc(
        "tokens", "create", "tich.hop@example.vn", "--name", "Cổng thông tin",
        database_url=database_url, data_dir=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert len(token) >= 40
    assert t("auth_cli.token_shown_once") in result.stderr
    engine = create_engine(parse_database_url(database_url))
    with Session(engine) as session:
        stored = session.scalars(select(ApiToken)).one()
        assert stored.token_hash == hash_token(token)
        assert stored.name == "Cổng thông tin"
    engine.dispose()


@error_shape_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["khong.co@example.vn", "--name", "x"],
            t("auth_cli.unknown_user", email="khong.co@example.vn"),
        ),
        (["khong.co@example.vn", "--name", "  "], t("auth_cli.bad_token_name")),
    ],
)
def test_bad_token_requests_exit_2(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = dondoc("tokens", "create", *args, database_url=database_url, data_dir=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == t("cli.error", message=message)
    assert result.stdout == ""


@error_shape_only
def test_the_demo_is_refused_in_production(database_url: str, tmp_path: Path) -> None:
    result = dondoc(
        "serve", "--demo", database_url=database_url, data_dir=tmp_path,
        DONDOC_ENVIRONMENT="production", DONDOC_SECRET_KEY="a-real-secret-key-for-production",
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.strip() == t("cli.error", message=t("auth_cli.demo_in_production"))
    assert _users(database_url) == []


def test_serve_with_an_unreachable_database_says_so(tmp_path: Path) -> None:
    result = dondoc(
        "serve",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/khong_co",
        data_dir=tmp_path,
    )

    assert result.returncode == 1
    # One sentence; the driver's own explanation may follow on further lines.
    first_line = result.stderr.strip().splitlines()[0]
    assert first_line.startswith(t("cli.error", message=""))
    assert "127.0.0.1" in first_line
    assert "Traceback" not in result.stderr


def test_serve_demo_starts_a_service_one_can_sign_in_to(
    empty_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--demo", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "DONDOC_DATABASE_URL": empty_database_url,
                "DONDOC_DATA_DIR": str(tmp_path),
                "DONDOC_ENVIRONMENT": "test",
            },
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        with httpx.Client(base_url=base) as client:
            login = client.post(
                "/api/auth/login",
                json={"email": "thuongtruc@demo.dondoc.vn", "password": DEMO_PASSWORD},
            )
            assert login.status_code == 200
            tasks = client.get("/api/tasks", params={"limit": 1})
            assert tasks.status_code == 200
            assert tasks.json()["total"] > 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    output = log.read_text()
    assert t("auth_cli.demo_accounts", password=DEMO_PASSWORD) in output
    assert "thuongtruc@demo.dondoc.vn" in output
    assert t("auth_cli.listening", url=base) in output

    engine = create_engine(parse_database_url(empty_database_url))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 6
    engine.dispose()


@error_shape_only
def test_serve_with_workers_runs_that_many_processes(database_url: str, tmp_path: Path) -> None:
    """`--workers 2`: two processes serve the same port (what a 2-core machine needs)."""
    server, base = serve(
        "--workers", "2", database_url=database_url, data_dir=tmp_path, log=tmp_path / "serve.log"
    )
    try:
        deadline = time.monotonic() + 90
        while len(workers := _worker_processes(server.process.pid)) != 2:
            assert time.monotonic() < deadline, (workers, server.output)
            time.sleep(0.3)
        assert httpx.get(f"{base}/api/tasks").status_code == 401
    finally:
        server.stop()
    assert t("auth_cli.listening", url=base) in server.output


def _worker_processes(pid: int) -> list[int]:
    """The children of `pid` that serve requests (not multiprocessing's helper processes)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    workers = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(int(child))
    return workers
