"""The container image and compose.yaml, checked without Docker.

There is no Docker engine here, so the Dockerfile and compose.yaml are read as data: what they
copy must exist and be in the build context, what they run must be a `dondoc` command, the
settings they set must be settings. Then every command they run is run for real, outside Docker:
the image's default command (`serve`), its HEALTHCHECK, compose's `db upgrade` and `scheduler`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import signal
import subprocess
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from notifications import outbox
from service.cli import app as cli
from service.config import Settings
from service.database import alembic_config, parse_database_url
from service.i18n import t
from service.observability import ObservabilitySettings
from tests.deploy.processes import REPO, Dondoc, free_port, run
from tests.notifications.smtp_sink import SmtpSink

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"
DOCKERIGNORE = REPO / ".dockerignore"
PACKAGES = ("service", "notifications", "migrations")


# --- Reading the Dockerfile ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    name: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of `CMD ["a", "b"]`-style instructions (exec form, no shell)."""
        value = json.loads(self.arguments)
        assert isinstance(value, list), f"{self.name} {self.arguments} is not in exec form"
        return [str(part) for part in value]


def dockerfile() -> list[Instruction]:
    """The instructions, with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        name, _, arguments = whole.partition(" ")
        instructions.append(Instruction(name.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends in a continuation line"
    return instructions


def only(name: str, instructions: list[Instruction]) -> Instruction:
    found = [i for i in instructions if i.name == name]
    assert len(found) == 1, f"expected one {name}, found {len(found)}"
    return found[0]


def stages() -> list[list[Instruction]]:
    """The instructions of each build stage, FROM first."""
    result: list[list[Instruction]] = []
    for instruction in dockerfile():
        if instruction.name == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def base_image(stage: list[Instruction]) -> str:
    image = stage[0].arguments.split()[0]
    arguments = {
        i.arguments.partition("=")[0]: i.arguments.partition("=")[2]
        for i in dockerfile()
        if i.name == "ARG" and "=" in i.arguments
    }
    return re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], image)


def healthcheck_command(port: int) -> list[str]:
    arguments = only("HEALTHCHECK", dockerfile()).arguments
    command = Instruction("CMD", arguments.partition("CMD ")[2]).exec_form()
    return [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command]


# --- The Dockerfile -----------------------------------------------------------------------------


def test_the_image_is_built_in_two_stages_on_slim_python() -> None:
    builder, runtime = stages()
    assert builder[0].arguments.endswith("AS builder")
    assert base_image(builder) == base_image(runtime) == "python:3.11-slim"
    # The runtime installs the builder's wheels from no index: nothing fetched, nothing compiled.
    install = [i.arguments for i in runtime if i.name == "RUN" and "pip install" in i.arguments]
    assert len(install) == 1
    assert "--no-index" in install[0]
    assert "from=builder" in install[0]


def test_the_image_runs_as_an_unprivileged_user_it_creates() -> None:
    _, runtime = stages()
    user = only("USER", runtime).arguments.split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(i.arguments for i in runtime if i.name == "RUN")
    assert f"useradd --system --uid 10001 --gid {user}" in created
    # The data directory (uploads) belongs to that user, and is a volume.
    data_dir = dict(
        part.split("=", 1) for part in shlex.split(only("ENV", runtime).arguments) if "=" in part
    )["DONDOC_DATA_DIR"]
    assert f"--owner={user}" in created
    assert data_dir in created
    assert json.loads(only("VOLUME", runtime).arguments) == [data_dir]


def test_the_entrypoint_is_the_dondoc_command_and_serves_by_default() -> None:
    instructions = dockerfile()
    assert only("ENTRYPOINT", instructions).exec_form() == ["dondoc"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["dondoc"] == "service.cli:app"
    command = only("CMD", instructions).exec_form()
    assert command == ["serve", "--host", "0.0.0.0"]
    assert CliRunner().invoke(cli, [*command, "--help"]).exit_code == 0
    assert only("EXPOSE", instructions).arguments == "8000"


def test_everything_the_build_copies_exists_and_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore is an allow-list"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied: list[str] = []
    for instruction in dockerfile():
        if instruction.name == "COPY" and "--from=" not in instruction.arguments:
            copied.extend(instruction.arguments.split()[:-1])
    assert copied
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: no such file"
        assert source.rstrip("/") in allowed, f"COPY {source}: excluded by .dockerignore"
    # What the image needs at run time is all copied: the three packages of pyproject.toml.
    assert set(PACKAGES) <= set(copied)


def test_every_file_the_image_needs_is_in_the_package() -> None:
    """The image installs a wheel: a data file no package-data pattern names would be missing
    there, though present in a source checkout (templates, catalogues, static files, migrations).
    """
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == [
        f"{package}*" for package in PACKAGES
    ]
    patterns = project["tool"]["setuptools"]["package-data"]["*"]
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            relative = path.relative_to(REPO)
            if path.suffix == ".py":
                assert (path.parent / "__init__.py").exists(), (
                    f"{relative}: its directory is not a package, so it is left out of the wheel"
                )
            else:
                assert any(fnmatch.fnmatch(path.name, p) for p in patterns), (
                    f"{relative} matches no [tool.setuptools.package-data] pattern"
                )


# --- compose.yaml -------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dondoc_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image") == "dondoc:latest"
    }


def test_compose_has_the_database_migrations_two_web_replicas_a_scheduler_and_a_mail_catcher() -> (
    None
):
    services = compose()["services"]
    assert set(services) == {"postgres", "mail", "migrate", "web", "scheduler"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["mail"]["image"].startswith("axllent/mailpit")
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["migrate"]["restart"] == "no"
    for name, service in dondoc_services().items():
        assert service["build"] == ".", name
        assert service["init"] is True, name


def test_compose_runs_only_dondoc_commands_that_exist() -> None:
    commands = {name: service["command"] for name, service in dondoc_services().items()}
    assert commands == {
        "migrate": ["db", "upgrade"],
        "web": ["serve", "--host", "0.0.0.0"],
        "scheduler": ["scheduler"],
    }
    runner = CliRunner()
    for name, command in commands.items():
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, f"{name}: dondoc {' '.join(command)}: {result.output}"


def test_compose_starts_dondoc_after_the_database_is_up_and_migrated() -> None:
    services = dondoc_services()
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
    assert compose()["services"]["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # The image's HEALTHCHECK asks the web service: the other containers have none.
    assert "healthcheck" not in services["web"]
    for name in ("migrate", "scheduler"):
        assert services[name]["healthcheck"] == {"disable": True}, name


def test_compose_sets_only_real_settings_pointing_at_its_own_services() -> None:
    known = {
        f"DONDOC_{name.upper()}"
        for model in (Settings, ObservabilitySettings)
        for name in model.model_fields
    }
    services = compose()["services"]
    for name, service in dondoc_services().items():
        environment = service["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        assert environment["DONDOC_ENVIRONMENT"] == "production"
        database = parse_database_url(environment["DONDOC_DATABASE_URL"])
        assert database.host == "postgres"
        assert database.username == services["postgres"]["environment"]["POSTGRES_USER"]
        assert database.database == services["postgres"]["environment"]["POSTGRES_DB"]
        assert environment["DONDOC_SMTP_HOST"] == "mail"
        # Mailpit's SMTP port.
        assert environment["DONDOC_SMTP_PORT"] == "1025"
        # No secret in the file: compose refuses to start without one from the environment.
        assert environment["DONDOC_SECRET_KEY"].startswith("${DONDOC_SECRET_KEY:?")
        # Every replica sees the same uploads.
        assert "uploads:/var/lib/dondoc" in service["volumes"]


# --- The commands, run -------------------------------------------------------------------------


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1
    return str(heads[0])


def test_the_migrate_command_builds_the_schema_and_is_safe_to_repeat(
    empty_database_url: str, tmp_path: Path
) -> None:
    command = dondoc_services()["migrate"]["command"]
    for _ in range(2):
        result = run(*command, database_url=empty_database_url, data_dir=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == t("auth_cli.upgraded")
    engine = create_engine(parse_database_url(empty_database_url))
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert revision == head_revision()


def test_the_migrate_command_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    result = run(
        "db",
        "upgrade",
        database_url=f"postgresql+psycopg://dondoc@127.0.0.1:{port}/dondoc",
        data_dir=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_the_default_command_serves_and_the_healthcheck_sees_it(
    database_url: str, tmp_path: Path
) -> None:
    """The image's CMD (on loopback and a free port instead of 0.0.0.0:8000), its HEALTHCHECK
    command, and `docker stop`'s SIGTERM."""
    port = free_port()
    command = only("CMD", dockerfile()).exec_form()
    server = Dondoc(
        *command,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        database_url=database_url,
        data_dir=tmp_path / "data",
        log=tmp_path / "serve.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        server.wait_until_answering(f"{base}/healthz")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "revision": head_revision()}
        refused = httpx.get(f"{base}/api/tasks", headers={"X-Request-ID": "image-test-1"})
        assert refused.status_code == 401
        healthy = subprocess.run(healthcheck_command(port), capture_output=True, timeout=30)
        assert healthy.returncode == 0, healthy.stderr
    finally:
        # uvicorn shuts down gracefully, then re-raises the signal: Docker sees exit code 143.
        assert server.stop() == -signal.SIGTERM, server.output
    # Logs: JSON, one object per line (the first line is the command's own greeting), with
    # uvicorn's records in the same form and one line per request.
    records = [json.loads(line) for line in server.output.splitlines()[1:] if line.strip()]
    assert "Finished server process" in records[-1]["message"]
    (request,) = [r for r in records if r.get("request_id") == "image-test-1"]
    assert request["logger"] == "dondoc.access"
    assert request["http"]["route"] == "/api/tasks"
    assert request["http"]["status"] == 401
    unhealthy = subprocess.run(healthcheck_command(port), capture_output=True, timeout=30)
    assert unhealthy.returncode != 0


def _queue_mail(database_url: str, count: int) -> None:
    engine = create_engine(parse_database_url(database_url))
    with Session(engine) as session:
        for number in range(count):
            outbox.enqueue(
                session,
                dedup_key=f"deploy:{number}",
                recipient_email=f"nguoi{number}@xa.gov.vn",
                user_id=None,
                kind="test",
                subject=f"Thư số {number}",
                body_text="Nội dung.",
                body_html=None,
                now=datetime.now(UTC),
                sender="dondoc <dondoc@localhost>",
            )
        session.commit()
    engine.dispose()


def test_the_scheduler_command_sends_queued_mail_and_stops_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    smtp = SmtpSink().start()
    try:
        _queue_mail(database_url, 3)
        metrics_port = free_port()
        scheduler = Dondoc(
            *dondoc_services()["scheduler"]["command"],
            database_url=database_url,
            data_dir=tmp_path / "data",
            log=tmp_path / "scheduler.log",
            DONDOC_SMTP_HOST=smtp.host,
            DONDOC_SMTP_PORT=str(smtp.port),
            DONDOC_DISPATCH_SECONDS="1",
            DONDOC_METRICS_PORT=str(metrics_port),
        )
        try:
            deadline = time.monotonic() + 60
            while len(smtp.received) < 3 and time.monotonic() < deadline:
                assert scheduler.process.poll() is None, scheduler.output
                time.sleep(0.2)
            # Its own metrics endpoint: the sweep that ran at start is timed.
            scheduler.wait_until_answering(f"http://127.0.0.1:{metrics_port}/metrics")
            metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        finally:
            assert scheduler.stop() == 0, scheduler.output
        assert re.search(r"^dondoc_sweep_duration_seconds_count [1-9]", metrics, re.M), metrics
        assert re.search(r"^dondoc_sweep_last_success_timestamp_seconds [1-9]", metrics, re.M)
        # Its log is JSON too.
        records = [json.loads(line) for line in scheduler.output.splitlines() if line.strip()]
        assert t("notify.log_stopped") in [r["message"] for r in records]
        assert sorted(message.to for message in smtp.received) == [
            "nguoi0@xa.gov.vn",
            "nguoi1@xa.gov.vn",
            "nguoi2@xa.gov.vn",
        ]
    finally:
        smtp.stop()


def test_the_scheduler_once_for_cron_runs_one_pass(database_url: str, tmp_path: Path) -> None:
    smtp = SmtpSink().start()
    try:
        _queue_mail(database_url, 2)
        result = run(
            *dondoc_services()["scheduler"]["command"],
            "--once",
            database_url=database_url,
            data_dir=tmp_path,
            DONDOC_SMTP_HOST=smtp.host,
            DONDOC_SMTP_PORT=str(smtp.port),
        )
        assert result.returncode == 0, result.stderr
        assert "Đã gửi 2 thư" in result.stdout
        assert len(smtp.received) == 2
    finally:
        smtp.stop()
