"""The API Gateway stage in front of the app's routes, as the ASGI `root_path`.

A client calls `https://<api>.execute-api.<region>.amazonaws.com/prod/api/chat`, but the routes
are `/api/chat`. How the stage reaches the function differs by event shape:

* REST API (payload 1.0): `path` has no stage (`/api/chat`); `requestContext.path` is what the
  client asked for (`/prod/api/chat`). The prefix is the difference of the two.
* HTTP API (payload 2.0) on a named stage: the stage stays in the path (`/prod/api/chat`).
* Function URL, or an HTTP API's `$default` stage: no prefix.

Setting `root_path` to the prefix (and making `path` start with it, as ASGI wants) lets Starlette
route on the rest, and makes FastAPI's `/docs` load `/prod/openapi.json` instead of
`/openapi.json`, which API Gateway answers with 403. Mangum's own `api_gateway_base_path` is one
fixed prefix matched with a plain `startswith` (`/prod` would also cut `/products`), so the
prefix is found here, per event and per whole path segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


def stage_prefix(event: Mapping[str, Any]) -> tuple[str, bool]:
    """The URL prefix in front of the routes ('' if none), and whether the event's path has it."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return "", False
    if event.get("version") == "2.0":
        stage = context.get("stage")
        http = context.get("http")
        path = str(http.get("path", "")) if isinstance(http, Mapping) else ""
        if not stage or stage == "$default":
            return "", False
        prefix = f"/{stage}"
        return (prefix, True) if path == prefix or path.startswith(prefix + "/") else ("", False)
    requested, route = context.get("path"), event.get("path")
    if not (isinstance(requested, str) and isinstance(route, str)) or requested == route:
        return "", False
    if requested.endswith(route):
        return requested[: len(requested) - len(route)].rstrip("/"), False
    return "", False


class StageRootPath:
    """ASGI middleware for the Lambda handler: the stage prefix becomes the `root_path`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = scope.get("aws.event")
        if scope["type"] == "http" and isinstance(event, Mapping):
            prefix, in_path = stage_prefix(event)
            if prefix:
                path = scope["path"] if in_path else prefix + scope["path"]
                scope = {**scope, "root_path": prefix, "path": path}
        await self.app(scope, receive, send)
