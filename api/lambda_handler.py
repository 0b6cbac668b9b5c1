"""AWS Lambda entry point: `api.lambda_handler.handler`.

Built at import, once per container, so warm invocations reuse the engine, the model client and
the compiled chains. Lifespan is off: Mangum would otherwise run it on every invocation.
Named HTTP API stages are taken off the path per event (see api.stage_path), so Mangum keeps
its default base path.
"""

from __future__ import annotations

import logging
from typing import Any

from mangum import Mangum

from api.app import app_from_environment
from api.stage_path import without_stage_prefix

logging.getLogger().setLevel(logging.INFO)


_asgi = Mangum(app_from_environment(), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _asgi(without_stage_prefix(event), context)
    return result
