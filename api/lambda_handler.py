"""AWS Lambda entry point: `api.lambda_handler.handler`.

Built at import, once per container, so warm invocations reuse the engine, the model client and
the compiled chains. Lifespan is off: Mangum would otherwise run it on every invocation.
The API Gateway stage becomes the ASGI root_path per event (see api.stage_path), so Mangum keeps
its default base path and /docs works under /<stage>.
"""

from __future__ import annotations

import logging
from typing import Any

from mangum import Mangum

from api.app import app_from_environment
from api.stage_path import StageRootPath

logging.getLogger().setLevel(logging.INFO)


_asgi = Mangum(StageRootPath(app_from_environment()), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _asgi(event, context)
    return result
