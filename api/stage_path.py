"""Taking a named HTTP API stage off the front of a Lambda event's path.

A REST API (payload 1.0) and a Function URL already give the app its own path, but an HTTP API
(payload 2.0) on a named stage keeps `/<stage>` in front of it. Mangum's `api_gateway_base_path`
is one fixed prefix matched with a plain `startswith` (so `/prod` would also cut `/products`), so
the stage is removed here instead, per event and per whole path segment.
"""

from __future__ import annotations

import copy
from typing import Any


def without_stage_prefix(event: dict[str, Any]) -> dict[str, Any]:
    """The event with a named HTTP API stage taken off the front of its path."""
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    http = context.get("http")
    if (
        event.get("version") != "2.0"
        or not stage
        or stage == "$default"
        or not isinstance(http, dict)
    ):
        return event
    prefix = f"/{stage}"

    def strip(path: str) -> str:
        if path == prefix:
            return "/"
        return path[len(prefix) :] if path.startswith(prefix + "/") else path

    stripped = copy.copy(event)
    stripped["rawPath"] = strip(str(event.get("rawPath", "")))
    stripped["requestContext"] = {
        **context,
        "http": {**http, "path": strip(str(http.get("path", "")))},
    }
    return stripped
