"""Jinja2 for the pages: autoescaped templates, the catalogue as `t`, dates as dd/mm/yyyy.

Every sentence on a page comes from the message catalogue (`service/locales/vi/web.toml` and the
domains' own files); templates hold markup only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.auth.dependencies import app_settings
from service.clock import to_local
from service.i18n import t
from service.models import User, UserRole
from service.web import csrf

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Pages load nothing from elsewhere and run no inline script; forms post only to us.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def dmy(value: date | datetime | None) -> str:
    """dd/mm/yyyy; a moment is shown as its day in Vietnam."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%d/%m/%Y")


def dmy_hm(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Vietnam's time."""
    if value is None:
        return "—"
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = t
    env.filters["dmy"] = dmy
    env.filters["dmy_hm"] = dmy_hm
    env.filters["percent"] = percent
    return env


environment = _env()


def nav_items(user: User | None) -> list[tuple[str, str]]:
    """(path, label key) of the menu for this user's role."""
    if user is None:
        return []
    items: list[tuple[str, str]] = []
    if user.role in (UserRole.ADMIN, UserRole.LEAD_OFFICE, UserRole.LEADERSHIP):
        items.append(("/plans", "web.nav.plans"))
    if user.agency_id is not None:
        items.append(("/tasks", "web.nav.tasks"))
        items.append(("/reports", "web.nav.reports"))
    if user.role == UserRole.ADMIN:
        items.append(("/admin/agencies", "web.nav.agencies"))
        items.append(("/admin/users", "web.nav.users"))
        items.append(("/admin/holidays", "web.nav.holidays"))
        items.append(("/admin/outbox", "web.nav.outbox"))
    return items


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page (or, for htmx, a fragment) from `template`, with what every page needs."""
    settings = app_settings(request)
    notice_key = request.query_params.get("ok", "")
    notice = f"web.notice.{notice_key}" if notice_key.isidentifier() else None
    full = {
        "user": user,
        "user_name": user.full_name if user else None,
        "nav": nav_items(user),
        "path": request.url.path,
        "csrf_token": csrf.token_for(request, settings),
        "csrf_field": csrf.CSRF_FIELD,
        "notice": notice if notice and _known(notice) else None,
        "role": user.role.value if user else None,
        **(context or {}),
    }
    html = environment.get_template(template).render(full)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["content-security-policy"] = PAGE_POLICY
    # With "no-referrer" (the app-wide default) Chromium sends `Origin: null` on a form post, and
    # the session's Origin check refuses it. "same-origin" still tells other sites nothing.
    response.headers["referrer-policy"] = "same-origin"
    # Pages show one person's data: never from a shared cache, never kept after sign-out.
    response.headers["cache-control"] = "no-store"
    csrf.set_cookie_if_new(request, response, settings)
    return response


def _known(key: str) -> bool:
    from service.i18n import catalogue

    return key in catalogue()
