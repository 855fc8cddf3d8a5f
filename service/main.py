"""The FastAPI application: `create_app()` wires settings, the database, errors and every router."""

from __future__ import annotations

from fastapi import FastAPI

from service import __version__, observability
from service.auth.middleware import SecurityHeadersMiddleware
from service.config import Settings, get_settings
from service.errors import install_error_handlers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="dondoc",
        version=__version__,
        description="Theo dõi, đôn đốc thực hiện kế hoạch của UBND.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.session_cookie_secure)

    from service.agencies.router import router as agencies_router
    from service.auth.router import link_router
    from service.auth.router import router as auth_router
    from service.plans.router import router as plans_router
    from service.reports.router import router as reports_router
    from service.tasks.router import router as tasks_router
    from service.users.router import router as users_router

    for router in (auth_router, users_router, agencies_router, plans_router, tasks_router):
        app.include_router(router, prefix="/api")
    app.include_router(reports_router, prefix="/api")
    app.include_router(link_router)
    app.include_router(__import__("notifications.router", fromlist=["_"]).router, prefix="/api")

    # The pages (no /api prefix), with their CSS and vendored htmx under /static.
    from service.web.router import router as web_router

    app.include_router(web_router)

    # /healthz, /readyz, /metrics, the request log and request metrics; outermost middleware.
    observability.install(app)
    return app
