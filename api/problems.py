"""Every error as RFC 9457 problem+json with a stable `code`, and declared in OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.errors import (
    ConfigError,
    ConversationNotFound,
    DeadlineExceeded,
    KopichatError,
    ModelBusy,
    ModelUnavailable,
    TurnCapReached,
    TurnInProgress,
)
from api.schemas import Problem

log = logging.getLogger("kopichat.api")
PROBLEM_JSON = "application/problem+json"

_STATUS_OF: dict[type[KopichatError], int] = {
    ConversationNotFound: 404,
    TurnInProgress: 409,
    TurnCapReached: 409,
    ModelUnavailable: 503,
    ModelBusy: 503,
    ConfigError: 503,
    DeadlineExceeded: 504,
}
_RETRY_SAFE = " Nothing of this turn was stored; it is safe to retry."


def problem(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:kopichat:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for OpenAPI: each status documented with the Problem schema."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _clean_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the input back: it can be large, or hold something the client regrets sending.
    return [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(KopichatError)
    async def kopichat_error(_request: Request, exc: KopichatError) -> JSONResponse:
        status = _STATUS_OF.get(type(exc), 500)
        detail = str(exc)
        if status in (503, 504):
            detail += _RETRY_SAFE
        headers = None
        if isinstance(exc, ModelBusy):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return problem(status, exc.code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc)
        summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        return problem(422, "validation_error", f"The request is not valid: {summary}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): the contract says 422.
            return problem(422, "validation_error", "The request body is not valid JSON.")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # Keep the exception's headers: a 405 must say which methods are allowed.
        return problem(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem(500, "internal_error", "Something went wrong on our side.")
