"""What operators see: /healthz, /readyz, /metrics, request ids and the request log."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from service.clock import FixedClock, get_clock
from service.config import Settings
from service.database import dispose_engines
from service.i18n import t
from service.main import create_app
from service.models import Notification, NotificationStatus, ObligationStatus
from service.observability import JsonFormatter, migration_heads, request_id_var
from tests.deploy.processes import free_port
from tests.tasks import builders


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def request_count(text: str, *, method: str, route: str, status: int) -> float:
    labels = (("method", method), ("route", route), ("status", str(status)))
    return samples(text).get(("dondoc_http_requests_total", labels), 0.0)


# --- Liveness and readiness ---------------------------------------------------------------------


def test_ready_when_the_database_answers_at_the_latest_schema(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": ", ".join(migration_heads())}
    assert response.headers["cache-control"] == "no-store"


def test_not_ready_before_the_migrations_ran(empty_database_url: str, tmp_path: Path) -> None:
    settings = Settings(environment="test", database_url=empty_database_url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    dispose_engines()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "ready.migrations_pending"
    assert error["details"] == {"current": [], "head": sorted(migration_heads())}
    assert "dondoc db upgrade" in error["message"]


def test_alive_but_not_ready_when_the_database_is_down(tmp_path: Path) -> None:
    """Liveness never asks the database: a database outage must not get the web process
    restarted, only taken out of the load balancer."""
    unreachable = f"postgresql+psycopg://dondoc@127.0.0.1:{free_port()}/dondoc"
    settings = Settings(environment="test", database_url=unreachable, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        alive = client.get("/healthz")
        ready = client.get("/readyz")
    dispose_engines()
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["error"] == {
        "code": "ready.database_unreachable",
        "message": t("ready.database_unreachable"),
        "details": {},
    }


# --- Request ids and the request log ------------------------------------------------------------


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/api/tasks").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    # A proxy's id is kept, so one request can be followed through both logs; a wild one is not.
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42.a"})
    assert given.headers["x-request-id"] == "edge-42.a"
    wild = client.get("/healthz", headers={"X-Request-ID": "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", wild.headers["x-request-id"])


def test_one_log_line_per_request_with_the_route_template_never_the_raw_path(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dondoc.access")
    client.get("/api/tasks/12345", headers={"X-Request-ID": "req-1"})
    client.get("/auth/link/bi-mat-cua-nguoi-dung")
    client.get("/readyz")
    client.get("/healthz")

    lines = [record for record in caplog.records if record.name == "dondoc.access"]
    fields = [vars(record)["http"] for record in lines]
    # Probes are polled every few seconds: counted in the metrics, not logged.
    assert [(f["method"], f["route"]) for f in fields] == [
        ("GET", "/api/tasks/{task_id}"),
        ("GET", "/auth/link/{token}"),
    ]
    assert fields[0]["status"] == 401
    assert fields[0]["duration_ms"] >= 0
    assert lines[0].getMessage().startswith("GET /api/tasks/{task_id} → 401 (")
    # Sign-in links carry their token in the path: it is in no log record at all.
    assert "bi-mat-cua-nguoi-dung" not in caplog.text


def test_log_records_are_one_json_object_with_the_request_id() -> None:
    record = logging.LogRecord("dondoc.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.http = {"route": "/x", "status": 200}
    token = request_id_var.set("req-9")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["logger"] == "dondoc.access"
    assert entry["level"] == "INFO"
    assert entry["message"] == "GET /x"
    assert entry["request_id"] == "req-9"
    assert entry["http"] == {"route": "/x", "status": 200}
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_are_for_administrators_and_leadership_only(
    client: TestClient, session: Session
) -> None:
    world = builders.build_world(session)
    assert client.get("/metrics").status_code == 401
    for role in ("health", "lead"):
        assert client.get("/metrics", headers=world.headers[role]).status_code == 403
    for role in ("admin", "leadership"):
        response = client.get("/metrics", headers=world.headers[role])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, session: Session
) -> None:
    world = builders.build_world(session)
    admin = world.headers["admin"]
    before = client.get("/metrics", headers=admin).text
    task = f"/api/tasks/{world.health_task.id}"
    for _ in range(3):
        assert client.get(task, headers=world.headers["health"]).status_code == 200
    assert client.get(task, headers=world.headers["outsider"]).status_code == 404
    assert client.get("/khong-co-trang-nay").status_code == 404
    after = client.get("/metrics", headers=admin).text

    def grew(route: str, status: int) -> float:
        return request_count(after, method="GET", route=route, status=status) - request_count(
            before, method="GET", route=route, status=status
        )

    assert grew("/api/tasks/{task_id}", 200) == 3
    assert grew("/api/tasks/{task_id}", 404) == 1
    assert grew("unmatched", 404) == 1
    histogram = samples(after)
    count = (
        "dondoc_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/tasks/{task_id}")),
    )
    assert histogram[count] >= 4


def test_metrics_read_the_outbox_and_overdue_reports_from_the_database(
    client: TestClient, session: Session
) -> None:
    world = builders.build_world(session, report_due_on=date(2025, 6, 10))
    # Overdue on 20/06: pending or returned, due before today.
    world.lead_report.status = ObligationStatus.RETURNED
    submitted = builders.add_obligation(
        session, world.deadline, builders.add_agency(session, "Phòng Nội vụ")
    )
    submitted.status = ObligationStatus.SUBMITTED
    later = builders.add_deadline(session, world.plan, due_on=date(2025, 12, 10))
    builders.add_obligation(session, later, world.health)
    for number, status in enumerate(
        [NotificationStatus.SENT] * 3 + [NotificationStatus.PENDING, NotificationStatus.FAILED]
    ):
        session.add(
            Notification(
                dedup_key=f"metrics:{number}",
                recipient_email=f"nguoi{number}@xa.gov.vn",
                kind="test",
                subject="Thư",
                body_text="Thư.",
                status=status,
            )
        )
    session.commit()
    client.app.dependency_overrides[get_clock] = lambda: FixedClock(  # type: ignore[attr-defined]
        datetime(2025, 6, 20, 3, tzinfo=UTC)
    )

    found = samples(client.get("/metrics", headers=world.headers["admin"]).text)

    assert found[("dondoc_database_up", ())] == 1
    assert found[("dondoc_overdue_obligations", ())] == 2
    assert {
        status: found[("dondoc_outbox_messages", (("status", status),))]
        for status in ("pending", "sending", "sent", "failed")
    } == {"pending": 1, "sending": 0, "sent": 3, "failed": 1}
    # The process's own figures come along (memory, for the load benchmark's "steady" check).
    assert found[("process_resident_memory_bytes", ())] > 0
