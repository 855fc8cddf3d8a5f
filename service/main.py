"""The FastAPI application: `create_app()` wires settings, the database, errors and every router."""

from __future__ import annotations

import gc

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
    from service.auth.router import router as auth_router
    from service.plans.router import router as plans_router
    from service.reports.router import router as reports_router
    from service.tasks.router import router as tasks_router
    from service.users.router import router as users_router

    # Tasks first: FastAPI tries routes in order, router by router, and status updates and task
    # lists are the busiest routes (no two routers share a path, so the order decides nothing
    # else).
    for router in (tasks_router, auth_router, users_router, agencies_router, plans_router):
        app.include_router(router, prefix="/api")
    app.include_router(reports_router, prefix="/api")
    app.include_router(__import__("notifications.router", fromlist=["_"]).router, prefix="/api")

    # The pages (no /api prefix), with their CSS and vendored htmx under /static.
    from service.web.router import router as web_router

    app.include_router(web_router)

    # /healthz, /readyz, /metrics, the request log and request metrics; outermost middleware.
    observability.install(app)
    return app


def create_served_app() -> FastAPI:
    """`create_app()` for a long-running server process (`dondoc serve`, each uvicorn worker).

    Everything made so far (modules, routes, schemas, the engine) lives as long as the process:
    `gc.freeze()` takes it out of the cyclic garbage collector's passes, which otherwise walk
    those hundreds of thousands of objects again and again while requests allocate. Not in
    `create_app()`: tests build many apps in one process, and frozen objects are never freed.
    """
    app = create_app()
    gc.freeze()
    return app
