"""One error format for the whole API: a stable machine code plus a Vietnamese sentence.

    {"error": {"code": "task.not_found", "message": "Không tìm thấy nhiệm vụ.", "details": {...}}}

Services raise `AppError("task.not_found", status=404)`; the handlers here turn it, request
validation errors, optimistic-lock conflicts and anything unexpected into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.i18n import t

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "request.bad",
    401: "auth.required",
    403: "auth.forbidden",
    404: "request.not_found",
    405: "request.method_not_allowed",
    409: "request.conflict",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "request.rate_limited",
}


class AppError(Exception):
    """An error a client can act on. `code` must be a key of the message catalogue."""

    def __init__(
        self, code: str, *, status: int = 400, details: dict[str, Any] | None = None, **params: Any
    ) -> None:
        self.code = code
        self.status = status
        self.details = details or {}
        self.message = t(code, **params)
        super().__init__(self.message)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, error: AppError) -> JSONResponse:
        return _response(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(part) for part in e["loc"][1:]) or str(e["loc"][0]),
                "type": e["type"],
            }
            for e in error.errors()
        ]
        return _response(422, "request.invalid", t("request.invalid"), {"fields": fields})

    @app.exception_handler(StaleDataError)
    async def stale(_request: Request, _error: StaleDataError) -> JSONResponse:
        return _response(409, "request.conflict", t("request.conflict"))

    # A value the database cannot hold (an id past its integer range, say) is the client's
    # mistake, whichever route it came through: 422, not 500.
    @app.exception_handler(DataError)
    async def out_of_range(_request: Request, _error: DataError) -> JSONResponse:
        return _response(422, "request.invalid", t("request.invalid"))

    @app.exception_handler(OverflowError)
    async def overflow(_request: Request, _error: OverflowError) -> JSONResponse:
        return _response(422, "request.invalid", t("request.invalid"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "request.bad")
        headers = getattr(error, "headers", None)
        return _response(error.status_code, code, t(code), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=error)
        return _response(500, "server.error", t("server.error"))
