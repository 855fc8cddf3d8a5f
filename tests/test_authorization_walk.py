"""The authorization walk: every route of the app, called as every kind of caller.

Routes are discovered from `create_app().routes`, so a route added later is walked without anyone
touching this file, unless it takes a path parameter this file does not know: then the walk
fails and names the parameter, to be added to PATH_PARAMETERS.

The world (tests/auth/scenario.py): agencies A and B, a plan led by A with A's task, deadline,
obligation, status update and attachment, and one person per role. Every private text of A
carries `scenario.SECRET`. Callers and what must hold:

- anonymous: 401 everywhere except PUBLIC; nothing written;
- B's focal point and B's lead office: no response contains A's secret; nothing that names one
  of A's private rows answers 2xx; no write answers 2xx; nothing written;
- leadership: reads anything, writes nothing;
- administrator, A's lead office, A's focal point: no server error (5xx).

"Nothing written" compares every row of every table before and after the call. Only the
self-service routes (SELF_SERVICE: sign-in, sign-out, the caller's own API tokens) may write.
Request bodies and required query parameters are made from the OpenAPI schema, with values
from BODY_VALUES by field name, so a write reaches the code that authorizes it instead of
stopping at validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Mount, Route

from service.config import Settings
from service.database import dispose_engines
from service.main import create_app
from service.models import Base
from tests import factories
from tests.auth import scenario

# Reachable without signing in: (method, path template). HEAD follows GET.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("POST", "/api/auth/link"),
    ("POST", "/api/auth/link/verify"),
    ("GET", "/auth/link/{token}"),
    ("POST", "/api/auth/login"),
    # Clearing one's own cookie needs no proof of who one is.
    ("POST", "/api/auth/logout"),
    # The web pages' sign-in form and its two posts, sign-out, and the pages' CSS and script.
    ("GET", "/sign-in"),
    ("POST", "/sign-in/link"),
    ("POST", "/sign-in/password"),
    ("POST", "/sign-out"),
    ("GET", "/static/app.css"),
    ("GET", "/static/htmx.min.js"),
}

# May write rows, but only about the caller's own account.
SELF_SERVICE = {
    ("POST", "/api/auth/link"),
    ("POST", "/api/auth/link/verify"),
    ("GET", "/auth/link/{token}"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/tokens"),
}

# Columns that change on every authenticated call and are not "writes" in the sense tested.
VOLATILE_COLUMNS = {("api_tokens", "last_used_at")}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Parameter:
    value: Callable[[scenario.Scenario], object]
    # Names one of A's private rows: agency B must never get a 2xx for it.
    private: bool


# Every path parameter any route may take, by name. Add new names here.
PATH_PARAMETERS: dict[str, Parameter] = {
    "plan_id": Parameter(lambda s: s.plan_a.id, private=True),
    "draft_id": Parameter(lambda s: s.plan_a.id, private=True),
    "import_id": Parameter(lambda s: s.plan_a.id, private=True),
    "task_id": Parameter(lambda s: s.task_a.id, private=True),
    "obligation_id": Parameter(lambda s: s.obligation_a.id, private=True),
    "deadline_id": Parameter(lambda s: s.deadline_a.id, private=True),
    "assignment_id": Parameter(lambda s: s.assignment_a.id, private=True),
    "update_id": Parameter(lambda s: s.update_a.id, private=True),
    "status_update_id": Parameter(lambda s: s.update_a.id, private=True),
    "attachment_id": Parameter(lambda s: s.attachment_a.id, private=True),
    "evidence_id": Parameter(lambda s: s.attachment_a.id, private=True),
    "user_id": Parameter(lambda s: s.focal_a.id, private=True),
    "token_id": Parameter(lambda s: s.token_a_id, private=True),
    # The agency registry is public data: any signed-in user may read A's entry.
    "agency_id": Parameter(lambda s: s.agency_a.id, private=False),
    "member_id": Parameter(lambda s: s.agency_b.id, private=False),
    # Positions inside a draft plan's extraction under review (the plan id is the private part).
    "key": Parameter(lambda s: 0, private=False),
    "index": Parameter(lambda s: 0, private=False),
    # A sign-in link: not a row, and the route is public.
    "token": Parameter(lambda s: "lien-ket-khong-hop-le", private=False),
}

# Values for body fields and query parameters, by name; anything else is made from its schema.
BODY_VALUES: dict[str, Callable[[scenario.Scenario], object]] = {
    **{name: parameter.value for name, parameter in PATH_PARAMETERS.items() if name != "token"},
    "email": lambda s: "nguoi-di-kiem-tra@example.vn",
    "password": lambda s: "mat-khau-kiem-tra",
    "token": lambda s: "lien-ket-khong-hop-le",
    "version": lambda s: 1,
    "state": lambda s: "dang_thuc_hien",
    "progress": lambda s: 50,
    "narrative": lambda s: "Kiểm tra phân quyền",
    "comment": lambda s: "Kiểm tra phân quyền",
    "reason": lambda s: "Kiểm tra phân quyền",
    "blocked_reason": lambda s: "Kiểm tra phân quyền",
    "name": lambda s: "Kiểm tra phân quyền",
    "is_active": lambda s: True,
}

ACTORS = ["anonymous", "focal_b", "lead_b", "leadership", "admin", "lead_a", "focal_a"]
CROSS_AGENCY = {"focal_b", "lead_b"}
MAY_WRITE = {"admin", "lead_a", "focal_a"}


# --- Routes and requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    url: str
    private: bool
    query: dict[str, Any]
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    # A listing filtered by A's private ids: for agency B it must come back empty.
    filtered: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return ("GET" if self.method == "HEAD" else self.method, self.template)

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.url}" + (f"?{query}" if query else "")


def _path_parameters(path: str) -> list[str]:
    return [name.split(":")[0] for name in re.findall(r"{([^}]+)}", path)]


def _fill_path(
    path: str, world: scenario.Scenario, *, ids: object | None = None
) -> tuple[str, bool]:
    """The URL of a route template, with A's rows (or `ids` for every id); and whether it names
    one of A's private rows."""
    private = False
    for name in _path_parameters(path):
        parameter = PATH_PARAMETERS.get(name)
        if parameter is None:
            pytest.fail(
                f"route {path} takes path parameter {name!r}, unknown to the authorization walk: "
                "add it to PATH_PARAMETERS in tests/test_authorization_walk.py"
            )
        private = private or parameter.private
        value = parameter.value(world)
        if ids is not None and isinstance(value, int):
            value = ids
        path = re.sub(r"{" + re.escape(name) + r"(:[^}]*)?}", str(value), path)
    return path, private


class Schemas:
    """Example values from the app's OpenAPI document."""

    def __init__(self, openapi: dict[str, Any], world: scenario.Scenario) -> None:
        self.components = openapi.get("components", {}).get("schemas", {})
        self.world = world

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        if name in BODY_VALUES:
            return BODY_VALUES[name](self.world)
        schema = self.resolve(schema)
        for combinator in ("anyOf", "oneOf", "allOf"):
            if combinator in schema:
                options = [
                    o for o in schema[combinator] if self.resolve(o).get("type") != "null"
                ] or schema[combinator]
                return self.example(options[0], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.object(schema)
        if kind == "array":
            return [self.example(schema.get("items", {}))] if schema.get("minItems") else []
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if kind == "string":
            return self.string(schema)
        return None

    def object(self, schema: dict[str, Any]) -> dict[str, Any]:
        required = set(schema.get("required", []))
        return {
            field: self.example(sub, field)
            for field, sub in schema.get("properties", {}).items()
            if field in required or field in BODY_VALUES
        }

    def string(self, schema: dict[str, Any]) -> str:
        form = schema.get("format")
        if form == "date":
            return date.today().isoformat()
        if form == "date-time":
            return datetime.now(UTC).isoformat()
        if form == "email":
            return "nguoi-di-kiem-tra@example.vn"
        return "kiểm tra".ljust(int(schema.get("minLength", 1)), "x")

    def is_file(self, schema: dict[str, Any]) -> bool:
        schema = self.resolve(schema)
        if schema.get("type") == "array":
            return self.is_file(schema.get("items", {}))
        options = schema.get("anyOf", [])
        return (
            schema.get("format") == "binary"
            or "contentMediaType" in schema
            or any(self.is_file(o) for o in options)
        )


@dataclass(frozen=True)
class WalkedRoute:
    original: BaseRoute
    path: str
    methods: frozenset[str]


def routes(app: FastAPI) -> list[WalkedRoute]:
    """Every route of the app with its full path, including those of included routers.

    FastAPI (0.13x and later) keeps included routers as one entry each in `app.routes`;
    `iter_route_contexts` walks into them and gives each route's effective path.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    found = []
    for context in iterate(app.routes) if iterate else app.routes:
        original = getattr(context, "original_route", context)
        found.append(
            WalkedRoute(
                original=original,
                path=str(getattr(context, "path", "")),
                methods=frozenset(getattr(context, "methods", None) or ()),
            )
        )
    return found


def calls_for(app: FastAPI, world: scenario.Scenario) -> Iterator[Call]:
    """One call per route and method, plus, for listings, one filtered by A's ids."""
    openapi = app.openapi()
    schemas = Schemas(openapi, world)
    for route in routes(app):
        if isinstance(route.original, Mount):
            pytest.fail(f"mounted app at {route.path}: teach the authorization walk about it")
        if not isinstance(route.original, Route):
            pytest.fail(f"route {route.original!r}: teach the authorization walk about its kind")
        url, private = _fill_path(route.path, world)
        for method in sorted(route.methods):
            operation = openapi.get("paths", {}).get(route.path, {}).get(method.lower(), {})
            query: dict[str, Any] = {}
            filters: dict[str, Any] = {}
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                name = parameter["name"]
                if parameter.get("required"):
                    query[name] = schemas.example(parameter.get("schema", {}), name)
                elif name in PATH_PARAMETERS and PATH_PARAMETERS[name].private:
                    filters[name] = PATH_PARAMETERS[name].value(world)
            call = Call(method, route.path, url, private, query)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = content["application/json"].get("schema", {})
                call = Call(**{**call.__dict__, "json": schemas.example(schema)})
            elif "multipart/form-data" in content or "application/x-www-form-urlencoded" in content:
                media = (
                    content.get("multipart/form-data")
                    or content["application/x-www-form-urlencoded"]
                )
                form = schemas.resolve(media.get("schema", {}))
                data: dict[str, Any] = {}
                files: dict[str, Any] = {}
                for field, sub in form.get("properties", {}).items():
                    if schemas.is_file(sub):
                        files[field] = ("kiem-tra.txt", b"kiem tra phan quyen", "text/plain")
                    elif field in form.get("required", []) or field in BODY_VALUES:
                        data[field] = schemas.example(sub, field)
                call = Call(**{**call.__dict__, "data": data, "files": files or None})
            yield call
            if filters and method == "GET":
                yield Call(**{**call.__dict__, "query": {**query, **filters}, "filtered": True})


# --- The database, before and after -------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, without the volatile columns."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            query = select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _listed(response: Response) -> bool:
    """Whether a paginated answer ({items, total, ...}) lists anything."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("items") or body.get("total"))


# --- The walk -----------------------------------------------------------------------------------


@pytest.fixture
def walker(settings: Settings) -> Iterator[TestClient]:
    """The app over HTTP, answering an unexpected exception with its 500 (as in production)
    instead of raising it, so one walk lists every failing route."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client
    dispose_engines()


def send(client: TestClient, call: Call, headers: dict[str, str]) -> Response:
    # A cookie from an earlier sign-in must not sign in the next call.
    client.cookies.clear()
    return client.request(
        call.method,
        call.url,
        params=call.query,
        json=call.json,
        data=call.data,
        files=call.files,
        headers=headers,
        follow_redirects=False,
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_authorization_walk(
    actor: str, walker: TestClient, session: Session, engine: Engine
) -> None:
    world = scenario.build(session)
    headers = {} if actor == "anonymous" else factories.auth_headers(session, getattr(world, actor))
    session.commit()
    app = walker.app
    assert isinstance(app, FastAPI)
    calls = list(calls_for(app, world))
    assert calls, "the walk found no routes"

    problems: list[str] = []
    for call in calls:
        watch_writes = actor not in MAY_WRITE and call.key not in SELF_SERVICE
        before = snapshot(engine) if watch_writes else {}
        response = send(walker, call, headers)
        status = response.status_code
        where = f"{actor}: {call.describe()} -> {status}"
        if status >= 500:
            problems.append(f"{where} (server error)")
        if watch_writes:
            written = changed_tables(before, snapshot(engine))
            if written:
                problems.append(f"{where} wrote to {', '.join(written)}")
        ok = 200 <= status < 300
        if actor == "anonymous" and call.key not in PUBLIC and status != 401:
            problems.append(f"{where}, expected 401")
        if actor in CROSS_AGENCY:
            if scenario.SECRET.lower() in response.text.lower():
                problems.append(f"{where} showed agency A's data")
            if ok and call.private:
                problems.append(f"{where} reached agency A's row")
        if actor in CROSS_AGENCY | {"leadership"} and ok and call.method in UNSAFE:
            if call.key not in SELF_SERVICE:
                problems.append(f"{where} wrote without the right to")
    assert not problems, "\n".join(problems)


def test_walk_knows_every_route(walker: TestClient, session: Session) -> None:
    """The walk sees the routes of every domain, including ones it has no special case for."""
    world = scenario.build(session)
    session.commit()
    app = walker.app
    assert isinstance(app, FastAPI)
    walked = {call.key for call in calls_for(app, world)}
    assert ("GET", "/api/auth/me") in walked
    assert ("GET", "/api/users") in walked
    assert ("DELETE", "/api/auth/tokens/{token_id}") in walked
    assert PUBLIC - {("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")} <= walked


@pytest.mark.parametrize("bad_id", [0, 987_654, 2**31, 2**63])
def test_unknown_or_huge_ids_are_client_errors(
    bad_id: int, walker: TestClient, session: Session
) -> None:
    """An id no row has, or one too large for the database, is a 4xx on every route."""
    world = scenario.build(session)
    headers = factories.auth_headers(session, world.admin)
    session.commit()
    app = walker.app
    assert isinstance(app, FastAPI)
    problems = []
    for call in calls_for(app, world):
        url, _ = _fill_path(call.template, world, ids=bad_id)
        if url == call.url:
            continue
        response = send(walker, Call(**{**call.__dict__, "url": url}), headers)
        if not 400 <= response.status_code < 500:
            problems.append(f"{call.method} {url} -> {response.status_code}")
    assert not problems, "\n".join(problems)
