"""The outermost middleware: a request id for every request, and one JSON log line per request.

An incoming `X-Request-ID` is kept if it looks like an id (1-128 characters of letters, digits
and `._:-`), else a new one is made; either way it comes back in the response's `X-Request-ID`.
The log line carries the id, method, route, status, problem `code`, latency, and what the turn
noted (conversation id, model, prompt version, token counts): never a message's text, never a
key or secret.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.observability import open_record
from api.logs import bind_request_id
from api.problems import send_problem

log = logging.getLogger("kopichat.request")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, model: str, access_log: bool) -> None:
        self.app = app
        self.model = model
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _GOOD_ID.match(incoming) else uuid.uuid4().hex
        record = open_record()
        bind_request_id(request_id)
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("unhandled error: %s", type(exc).__name__)
            if status == 0:
                await send_problem(
                    send_with_id, 500, "internal_error", "Something went wrong on our side."
                )
        finally:
            if self.access_log:
                route = scope.get("route")
                fields: dict[str, object] = {
                    "method": scope["method"],
                    "route": getattr(route, "path", None) or "unmatched",
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    **record,
                }
                if "prompt_version" in record:  # a turn ran: say which model answered
                    fields.setdefault("model", self.model)
                level = logging.WARNING if status >= 500 else logging.INFO
                log.log(level, "request", extra={"fields": fields})
