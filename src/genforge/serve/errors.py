"""Errors as each API's clients expect them: OpenAI's ``{"error": {...}}`` on /v1, OIP's
``{"error": "..."}`` on /v2, and the OpenAI shape elsewhere. One message naming the field, model or limit;
never a key, never a traceback."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from genforge.core.errors import GenforgeError

logger = logging.getLogger("genforge.serve")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}


def error_body(
    path: str, status: int, message: str, param: str | None = None, code: str | None = None
) -> dict:
    if path.startswith("/v2"):
        return {"error": message}
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(path: str, error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(path, error.status, error.message, error.param, error.code),
        status_code=error.status,
        headers=error.headers,
    )


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_handlers(app) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(request.url.path, exc)

    @app.exception_handler(GenforgeError)
    async def _genforge_error(request: Request, exc: GenforgeError):
        return error_response(request.url.path, ApiError(400, str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
        where = _field(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            message = "the request body is not valid JSON"
            where = "body"
        else:
            message = f"{where}: {first.get('msg', 'invalid value')}"
        return error_response(request.url.path, ApiError(400, message, param=where))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = "no such route: see /v1/models and /v2" if exc.status_code == 404 else str(exc.detail)
        return error_response(request.url.path, ApiError(exc.status_code, message))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        logger.exception("internal error on %s", request.url.path)
        return error_response(request.url.path, ApiError(500, "internal server error (logged by the server)"))
