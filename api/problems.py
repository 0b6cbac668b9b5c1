"""Every error as RFC 9457 problem+json with a stable `code`, and declared in OpenAPI.

Errors a client should retry (409 turn_in_progress, 429, 503, 504) carry `Retry-After`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Send

from agent.errors import (
    ConfigError,
    ConversationNotFound,
    DatabaseUnavailable,
    DeadlineExceeded,
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
    KopichatError,
    ModelBusy,
    ModelUnavailable,
    NothingToRegenerate,
    NoTurnInProgress,
    TurnCancelled,
    TurnCapReached,
    TurnInProgress,
)
from agent.observability import note
from api.schemas import Problem

log = logging.getLogger("kopichat.api")
PROBLEM_JSON = "application/problem+json"

_STATUS_OF: dict[type[KopichatError], int] = {
    ConversationNotFound: 404,
    TurnInProgress: 409,
    TurnCapReached: 409,
    NothingToRegenerate: 409,
    IdempotencyKeyInUse: 409,
    TurnCancelled: 409,
    NoTurnInProgress: 409,
    IdempotencyKeyMismatch: 422,
    ModelUnavailable: 503,
    ModelBusy: 503,
    DatabaseUnavailable: 503,
    DeadlineExceeded: 504,
    ConfigError: 500,  # retrying cannot fix a configuration fault
}
# Seconds a client should wait before trying again. A turn cap is never lifted: no header.
RETRY_AFTER_S: dict[type[KopichatError], int] = {
    TurnInProgress: 2,
    IdempotencyKeyInUse: 1,
    ModelUnavailable: 2,
    DatabaseUnavailable: 2,
    DeadlineExceeded: 1,
}
_RETRY_SAFE = "Nothing of this turn was stored; it is safe to retry."
# What to do next, after the error's own sentence.
_NEXT_STEP: dict[type[KopichatError], str] = {
    ConversationNotFound: (
        'To start a new conversation, send "conversation_id": null (or leave it out).'
    ),
}

RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}
REQUEST_ID_HEADER = {
    "description": "The request's id: the X-Request-ID sent, or a new one. Also in the logs.",
    "schema": {"type": "string"},
}
_RETRYABLE_STATUSES = {409, 429, 503, 504}


def problem_body(
    status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:kopichat:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def kopichat_problem(exc: KopichatError) -> tuple[int, dict[str, Any], int | None]:
    """Status, problem body and Retry-After seconds (or None) of one of our errors."""
    status = _STATUS_OF.get(type(exc), 500)
    sentences = [str(exc), _NEXT_STEP.get(type(exc), "")]
    if status in (503, 504):
        sentences.append(_RETRY_SAFE)
    detail = " ".join(_as_sentence(s) for s in sentences if s)
    if isinstance(exc, ModelBusy):
        retry_after: int | None = exc.retry_after_s
    else:
        retry_after = RETRY_AFTER_S.get(type(exc))
    if status == 500:
        log.error("configuration fault: %s", exc)
    return status, problem_body(status, exc.code, detail), retry_after


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def problem(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    note(code=code)
    return JSONResponse(
        problem_body(status, code, detail, errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def send_problem(
    send: Send, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> None:
    """The same answer straight from an ASGI middleware, before the app parses anything."""
    note(code=code)
    body = json.dumps(problem_body(status, code, detail)).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for OpenAPI: each status documented with the Problem schema, and
    `Retry-After` where the client is told to retry."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        headers: dict[str, Any] = {"X-Request-ID": REQUEST_ID_HEADER}
        if status in _RETRYABLE_STATUSES:
            headers["Retry-After"] = RETRY_AFTER_HEADER
        responses[status] = {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "headers": headers,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return responses


SEND_JSON = (
    'Send a JSON object such as {"conversation_id": null, "message": "..."} '
    "with the header Content-Type: application/json."
)
# Validation messages that would otherwise show a regular expression, by the field they name.
_PATTERN_MESSAGES = {
    "conversation_id": (
        "conversation_id must be a UUID as returned by the first call, "
        'e.g. "3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"; send null to start a new conversation'
    ),
    "Idempotency-Key": "Idempotency-Key must be 1-255 printable ASCII characters, no spaces",
    "cursor": "cursor must be the next_cursor of the page before",
    "after": "after must be an event id as sent in the stream's id: field, e.g. 0a1b2c3d-7",
}
_NOT_AN_OBJECT = {"model_attributes_type", "dict_type", "model_type"}


def readable_message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, in words where it would show a pattern or a prefix."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    message = str(error.get("msg", ""))
    if kind == "string_pattern_mismatch" and loc and loc[-1] in _PATTERN_MESSAGES:
        return _PATTERN_MESSAGES[str(loc[-1])]
    if kind == "json_invalid":
        return f"not valid JSON: {error.get('ctx', {}).get('error', message)}"
    if loc == ("body",) and kind in _NOT_AN_OBJECT:
        return "the body must be a JSON object"
    return message.removeprefix("Value error, ")


def body_fault(exc: RequestValidationError, content_type: str | None) -> str | None:
    """A sentence for a body that is not a JSON object at all (form-encoded, text, broken
    JSON, none), saying what to send instead; None when the body is an object."""
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        kind = error.get("type", "")
        if kind == "json_invalid" and len(loc) == 2 and isinstance(loc[1], int):
            where = _position(exc.body, loc[1])
            what = str(error.get("ctx", {}).get("error", "JSON decode error"))
            return f"The request body is not valid JSON: {what[:1].lower()}{what[1:]} {where}."
        if loc == ("body",) and kind == "missing":
            return f"The request has no body. {SEND_JSON}"
        if loc == ("body",) and kind in _NOT_AN_OBJECT:
            if not _is_json(content_type):
                sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
                if content_type and content_type.startswith("application/x-www-form-urlencoded"):
                    sent += " (what curl -d sends without -H 'content-type: application/json')"
                return f"The request body must be JSON, but it came with {sent}. {SEND_JSON}"
            return f"The request body must be a JSON object, not a list or a value. {SEND_JSON}"
    return None


def _located(error: Mapping[str, Any]) -> str:
    """`body.message: Field required`; a message that names its field already stands alone."""
    loc, message = error["loc"], str(error["msg"])
    if loc and message.startswith(f"{loc[-1]} "):
        return message
    return f"{'.'.join(map(str, loc))}: {message}"


def _position(document: Any, offset: int) -> str:
    if not isinstance(document, str):
        return f"at character {offset + 1}"
    line = document.count("\n", 0, offset) + 1
    column = offset - document.rfind("\n", 0, offset)
    return f"at line {line}, column {column}"


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in _all_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _all_routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _all_routes(included.routes)
        else:
            yield route


def _clean_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the input back: it can be large, or hold something the client regrets sending.
    return [
        {
            "loc": list(error.get("loc", ())),
            "msg": readable_message(error),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(KopichatError)
    async def kopichat_error(_request: Request, exc: KopichatError) -> JSONResponse:
        status, body, retry_after = kopichat_problem(exc)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return problem(status, body["code"], body["detail"], headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc)
        detail = body_fault(exc, request.headers.get("content-type"))
        if detail is None:
            summary = "; ".join(_located(e) for e in errors[:3])
            detail = f"The request is not valid: {summary}"
        return problem(422, "validation_error", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): the contract says 422.
            return problem(
                422, "validation_error", f"The request body is not valid UTF-8 JSON. {SEND_JSON}"
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by two
            # routes (GET and DELETE of a conversation) must list both.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return unexpected_problem(exc)


def unexpected_problem(exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem(500, "internal_error", "Something went wrong on our side.")


class ProblemRoute(APIRoute):
    """A route that answers an unexpected error itself, with the 500 problem.

    Starlette hands an `Exception` handler to its outermost middleware, outside CORS, and the
    request-context middleware answers what escapes the app there too: a browser on an allowed
    origin would get no CORS headers and see a network error instead of the problem. Answered
    here, inside every middleware, the 500 gets its CORS headers like any other answer. Errors
    that have a handler of their own (validation, HTTP, Kopichat errors) go on to it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                if _has_own_handler(request, exc):
                    raise
                return unexpected_problem(exc)

        return answer


def _has_own_handler(request: Request, exc: Exception) -> bool:
    return any(
        isinstance(key, type) and key is not Exception and isinstance(exc, key)
        for key in request.app.exception_handlers
    )
