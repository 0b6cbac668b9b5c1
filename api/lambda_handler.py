"""AWS Lambda entry point: `api.lambda_handler.handler`.

Built at import, once per container, so warm invocations reuse the engine, the model client and
the compiled chains. Lifespan is off: Mangum would otherwise run it on every invocation.
The API Gateway stage becomes the ASGI root_path per event (see api.stage_path), so Mangum keeps
its default base path and /docs works under /<stage>.

Mangum base64-encodes every body whose content type matches none of its text types, and its
default list lacks application/problem+json (every error). API Gateway REST with no binary
media types then hands the base64 text to the client as the body. So the list below covers every
text type the app sends; Mangum matches each entry as a substring of the content type.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mangum import Mangum

from api.app import app_from_environment
from api.stage_path import StageRootPath

if TYPE_CHECKING:
    from agent.adapters.otel import Tracing

logging.getLogger().setLevel(logging.INFO)


TEXT_MIME_TYPES = [
    "text/",  # text/html (the page, /docs), text/event-stream, text/plain
    "application/json",
    "application/problem+json",
    "+json",  # any other structured JSON type
    "application/javascript",
    "application/xml",
    "+xml",
    "application/vnd.oai.openapi",
]

_app = app_from_environment()
_asgi = Mangum(StageRootPath(_app), lifespan="off", text_mime_types=TEXT_MIME_TYPES)
_tracing: Tracing | None = _app.state.services.tracing


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = _asgi(event, context)
    finally:
        if _tracing is not None:  # Lambda freezes the process once the handler returns
            _tracing.flush()
    return result
