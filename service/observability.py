"""How operators see a running dondoc: health and readiness, JSON logs, Prometheus metrics.

- `GET /healthz` (liveness): the process answers; no database, so a database outage never gets
  a healthy web process restarted.
- `GET /readyz` (readiness): the database answers and its schema is at the migrations' head;
  503 with a stable code otherwise. It is answered by `ObservabilityMiddleware` before routing:
  probes are anonymous and carry no session, and every *route* of the app is walked by the
  authorization test, which requires sign-in everywhere but a short public list.
- `GET /metrics` (Prometheus text format), for an administrator's or a leadership account's API
  token: request counts and latency by route template and status; outbox messages by status and
  overdue report obligations, counted in the database at scrape time (so every replica reports
  the same, true figure); sweep duration, in the process that runs the scheduler.
- Logs: one JSON object per line on stderr; one line per request (method, route template,
  status, duration, request id). Raw paths are never logged: sign-in links carry their token
  in the path.

`dondoc scheduler` is its own process: `watch_scheduler` (called by notifications/scheduler.py)
times its sweeps and, with DONDOC_METRICS_PORT, serves its metrics on a port of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

import fastapi.routing
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Depends, Response
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth.dependencies import require_roles
from service.clock import ClockDep, today_local
from service.config import Settings, get_settings
from service.database import SessionDep, alembic_config, get_engine
from service.errors import error_body
from service.i18n import t
from service.models import (
    Notification,
    NotificationStatus,
    ObligationStatus,
    ReportObligation,
    User,
    UserRole,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from notifications.scheduler import Runner

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("dondoc.access")

READINESS_PATH = "/readyz"
# Probes are polled every few seconds: counted in the metrics, left out of the request log.
_PROBES = frozenset({"/healthz", READINESS_PATH})
# The database may hang rather than refuse (a network partition): the probe answers anyway.
READINESS_TIMEOUT_SECONDS = 5.0

# A request id a client or proxy sends is kept if it is this tame; otherwise a new one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Paths no route matched get one label, so scanners cannot mint a time series per URL.
UNMATCHED = "unmatched"
# What `generate_latest` writes, under the name every Prometheus version reads.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

request_id_var: ContextVar[str | None] = ContextVar("dondoc_request_id", default=None)


class ObservabilitySettings(BaseSettings):
    """Logging and the scheduler's metrics endpoint (DONDOC_* like every other setting)."""

    model_config = SettingsConfigDict(env_prefix="DONDOC_", env_file=".env", extra="ignore")

    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line; text: for a terminal"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The least severe log records written"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`dondoc scheduler` serves its Prometheus metrics on this port; none: off",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="The address the scheduler's metrics port listens on"
    )


# --- Metrics ------------------------------------------------------------------------------------

REQUESTS = Counter(
    "dondoc_http_requests",
    t("obs.metric_requests"),
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "dondoc_http_request_duration_seconds",
    t("obs.metric_request_seconds"),
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SWEEP_SECONDS = Histogram(
    "dondoc_sweep_duration_seconds",
    t("obs.metric_sweep_seconds"),
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SWEEP_LAST_SUCCESS = Gauge(
    "dondoc_sweep_last_success_timestamp_seconds", t("obs.metric_sweep_last_success")
)


class DatabaseCollector(Collector):
    """What the database says at scrape time: the outbox by status, overdue obligations."""

    def __init__(self, session: Session, *, today: Any) -> None:
        self.session = session
        self.today = today

    def collect(self) -> Any:
        up = GaugeMetricFamily("dondoc_database_up", t("obs.metric_database_up"))
        try:
            outbox = dict(
                self.session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                ).all()
            )
            # Served by ix_report_obligations_status_due: two range scans, no join.
            overdue = self.session.scalar(
                select(func.count())
                .select_from(ReportObligation)
                .where(
                    ReportObligation.status.in_(
                        (ObligationStatus.PENDING, ObligationStatus.RETURNED)
                    ),
                    ReportObligation.due_on < self.today,
                )
            )
        except SQLAlchemyError:
            logger.warning(t("obs.log_metrics_database"), exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        messages = GaugeMetricFamily(
            "dondoc_outbox_messages", t("obs.metric_outbox"), labels=["status"]
        )
        for status in NotificationStatus:
            messages.add_metric([status.value], outbox.get(status, 0))
        yield messages
        yield GaugeMetricFamily(
            "dondoc_overdue_obligations", t("obs.metric_overdue"), value=overdue or 0
        )


# --- Health, readiness, metrics: the routes -----------------------------------------------------

router = APIRouter(include_in_schema=False)

MetricsReader = Annotated[User, Depends(require_roles(UserRole.ADMIN, UserRole.LEADERSHIP))]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics")
def metrics(_reader: MetricsReader, session: SessionDep, clock: ClockDep) -> Response:
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(DatabaseCollector(session, today=today_local(clock)))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=METRICS_CONTENT_TYPE)


@cache
def migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def readiness(engine: Engine) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 when the database answers and is at the migrations' head."""
    heads = migration_heads()
    try:
        with engine.connect() as connection:
            try:
                current = frozenset(
                    connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
                )
            except SQLAlchemyError:
                current = frozenset()  # no alembic_version table: never migrated
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        logger.warning(t("obs.log_not_ready", detail=detail))
        return 503, {"status": "unavailable", **_error("ready.database_unreachable")}
    if current != heads:
        found = ", ".join(sorted(current)) or t("ready.none")
        return 503, {
            "status": "unavailable",
            **_error(
                "ready.migrations_pending",
                details={"current": sorted(current), "head": sorted(heads)},
                current=found,
                head=", ".join(sorted(heads)),
            ),
        }
    return 200, {"status": "ready", "revision": ", ".join(sorted(heads))}


def _error(code: str, details: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    return error_body(code, t(code, **params), details)


# --- The middleware -----------------------------------------------------------------------------


class ObservabilityMiddleware:
    """Request id, request metrics and the request log line; answers /readyz itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Built at the first request, when every router has been included.
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500  # what the client gets if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if scope["path"] == READINESS_PATH:
                await self._readiness(scope, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self._route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(elapsed)
            if scope["path"] not in _PROBES:
                access_logger.info(
                    t(
                        "obs.log_request",
                        method=method,
                        route=route,
                        status=status,
                        ms=round(elapsed * 1000),
                    ),
                    extra={
                        "http": {
                            "method": method,
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 1),
                        }
                    },
                )
            request_id_var.reset(token)

    def _route_template(self, scope: Scope) -> str:
        if scope["path"] == READINESS_PATH:
            return READINESS_PATH
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = route_templates(scope.get("app"))
        path = self._templates.get(id(route), getattr(route, "path", None))
        return path if isinstance(path, str) else UNMATCHED

    async def _readiness(self, scope: Scope, send: Send) -> None:
        app = scope.get("app")
        settings = getattr(getattr(app, "state", None), "settings", None)
        engine = get_engine(settings if isinstance(settings, Settings) else None)
        try:
            status, body = await asyncio.wait_for(
                run_in_threadpool(readiness, engine), timeout=READINESS_TIMEOUT_SECONDS
            )
        except TimeoutError:
            status, body = 503, {"status": "unavailable", **_error("ready.database_unreachable")}
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode("ascii")),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.fullmatch(candidate) else None
    return None


def route_templates(app: Any) -> dict[int, str]:
    """The full path template of every route, by the route object's id.

    FastAPI (0.13x and later) keeps an included router as one entry of `app.routes`, and the
    route a request matched (`scope["route"]`) knows only its path inside its router ("/tasks"
    for "/api/tasks"); `iter_route_contexts` gives each route's full path.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = getattr(app, "routes", [])
    templates: dict[int, str] = {}
    for context in iterate(routes) if iterate else routes:
        original = getattr(context, "original_route", context)
        path = getattr(context, "path_format", None) or getattr(context, "path", None)
        if isinstance(path, str):
            templates[id(original)] = path
    return templates


def install(app: FastAPI) -> None:
    """The middleware (outermost, so it times everything) and the routes; JSON logs for a
    process nobody has set logging up for yet (`dondoc serve`)."""
    app.add_middleware(ObservabilityMiddleware)
    app.include_router(router)
    configure_logging()


# --- Logs ---------------------------------------------------------------------------------------

_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def configure_logging(
    settings: ObservabilitySettings | None = None, *, force: bool = False
) -> bool:
    """Send every log record to stderr as JSON (or text), once per process.

    Like `logging.basicConfig`, it does nothing when the root logger already has a handler
    (a test runner's, or an embedding program's) unless `force`. uvicorn's own handlers are
    removed so its records come out in the same format, and its access log is silenced: the
    middleware's line has the route template instead of the raw path. Returns whether it did.
    """
    root = logging.getLogger()
    if root.handlers and not force:
        return False
    settings = settings or ObservabilitySettings()
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_RequestIdFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return True


# --- The scheduler process ----------------------------------------------------------------------


def watch_scheduler(runner: Runner, settings: Settings | None = None) -> None:
    """Observability of a scheduler: each sweep timed; in `dondoc scheduler` (its own process),
    JSON logs and, with DONDOC_METRICS_PORT, a Prometheus endpoint of its own."""
    settings = settings or get_settings()
    full_pass = runner.full_pass

    async def timed_pass() -> Any:
        started = time.perf_counter()
        result = await full_pass()
        SWEEP_SECONDS.observe(time.perf_counter() - started)
        if result is not None:  # None: the pass failed and was logged
            SWEEP_LAST_SUCCESS.set_to_current_time()
        return result

    # The instance attribute shadows the method: the jobs scheduled after this call run it.
    setattr(runner, "full_pass", timed_pass)  # noqa: B010
    if settings.scheduler_in_serve:
        return  # inside the web process: its logs are set up and /metrics shows the sweeps
    observability = ObservabilitySettings()
    configure_logging(observability)
    if observability.metrics_port is not None:
        start_http_server(observability.metrics_port, addr=observability.metrics_host)
        logger.info(
            t(
                "obs.log_metrics_port",
                host=observability.metrics_host,
                port=observability.metrics_port,
            )
        )
