"""Realistic AWS Lambda events for the Kopichat handler (``api.lambda_handler.handler``).

Three event shapes can reach the function; the JSON templates live in ``tests/deploy/events/``:

* ``rest_v1``      - API Gateway REST API (payload 1.0), stage ``prod``, proxy resource
                     ``/{proxy+}``. This is what ``infra/template.yaml`` deploys.
* ``http_v2``      - API Gateway HTTP API (payload 2.0) on a *named* stage ``prod``.
* ``function_url`` - Lambda Function URL (payload 2.0, stage ``$default``).

How each shape's path reaches the ASGI app under Mangum 0.22.0 (read from
``mangum/adapter.py`` and ``mangum/handlers/{api_gateway,utils}.py``):

* Mangum picks the first handler whose ``infer`` matches, in the order ALB, HTTPGateway
  (``"version" in event``), APIGateway (``"resource" in event``), LambdaAtEdge.
* ``rest_v1``: the scope path is ``event["path"]``. On the execute-api endpoint AWS has already
  removed the stage there: ``path`` is ``/api/chat`` while ``requestContext.path`` is
  ``/prod/api/chat`` and ``resource`` is ``/{proxy+}``; Mangum ignores the last two. So v1 reaches
  ``/api/chat`` with the default ``api_gateway_base_path="/"``.
* ``http_v2`` on a named stage: the scope path is ``requestContext.http.path`` (not ``rawPath``,
  though AWS sends the same value in both), and for a named stage AWS keeps the stage in it:
  ``/prod/api/chat``. Mangum does NOT remove the stage by itself. With the default base path
  the app sees ``/prod/api/chat`` and answers 404. Only ``api_gateway_base_path="/prod"``
  removes it.
* ``function_url``: the scope path is ``requestContext.http.path``, which is ``/api/chat``. There is
  no stage in the path (``requestContext.stage`` is ``$default``).
* ``strip_api_gateway_path(path, base)`` adds a leading ``/`` if ``base`` lacks one. It then removes
  ``base`` from the start of the path with a plain ``str.startswith``. That check ignores path
  segments: ``/prod`` also turns ``/products`` into ``ucts`` and ``/prod`` alone into ``""``. The
  function also runs ``urllib.parse.unquote`` on every path. The base path is fixed per Mangum
  instance, so it cannot follow ``requestContext.stage`` per event.

So there are two ways to make all three shapes reach ``/api/chat``:

* static: ``Mangum(app, lifespan="off", api_gateway_base_path="/prod")``. v1 and Function-URL
  paths do not start with ``/prod`` and are left alone. It is tied to one stage name, and the
  stage must never be a prefix of a route (not ``api``, ``health`` or ``ready``).
* per event: keep the default base path ``"/"`` and turn the stage into the ASGI ``root_path``
  (``/prod``; for v1 also put it in front of ``path``, as ASGI wants the path to start with the
  root path). Starlette routes on what follows the root path, and FastAPI's ``/docs`` then loads
  ``/prod/openapi.json``. This works for any stage name and is what ``api/stage_path.py`` does.

Every event carries its arrival time (``requestTimeEpoch`` for v1, ``timeEpoch`` for v2), set to
now unless ``arrived_s_ago`` says otherwise: the handler counts the turn's budget from it.

Usage in a handler test (``lambda_context()`` is a stand-in for the Lambda context object)::

    from tests.deploy.lambda_events import SHAPES, build_event, lambda_context, response_json

    @pytest.mark.parametrize("shape", SHAPES)
    def test_health(shape: EventShape) -> None:
        result = handler(build_event(shape, "GET", "/health"), lambda_context())
        assert result["statusCode"] == 200
        assert response_json(result) == {"status": "ok"}

    event = build_event("http_v2", "POST", "/api/chat", {"conversation_id": None, "message": "hi"})
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

EventShape = Literal["rest_v1", "http_v2", "function_url"]
SHAPES: tuple[EventShape, ...] = get_args(EventShape)

EVENTS_DIR = Path(__file__).parent / "events"
DEFAULT_STAGE = "prod"
# With the static option above, the Mangum(api_gateway_base_path=...) value that takes all three
# shapes (with the default stage) to the app's routes unchanged.
API_GATEWAY_BASE_PATH = f"/{DEFAULT_STAGE}"

_FILES: dict[EventShape, str] = {
    "rest_v1": "rest_api_v1.json",
    "http_v2": "http_api_v2.json",
    "function_url": "function_url.json",
}

Body = Mapping[str, Any] | str | bytes | None


def load_event(shape: EventShape) -> dict[str, Any]:
    """Return a fresh copy of the stored sample event (a ``POST /api/chat``) of ``shape``."""
    text = (EVENTS_DIR / _FILES[shape]).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


def _encode_body(body: Body, *, as_base64: bool) -> tuple[str | None, int]:
    """Turn ``body`` into the event's ``body`` string and its byte length."""
    if body is None:
        return None, 0
    if isinstance(body, Mapping):
        raw = json.dumps(dict(body)).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body
    if as_base64:
        return base64.b64encode(raw).decode("ascii"), len(raw)
    return raw.decode(), len(raw)


def rest_api_v1_event(
    method: str = "GET",
    path: str = "/health",
    body: Body = None,
    stage: str = DEFAULT_STAGE,
    *,
    content_type: str | None = "application/json",
    as_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0), as sent by the execute-api endpoint.

    ``path`` is the route the app should see (e.g. ``/api/chat``). As on AWS, ``event["path"]``
    carries it without the stage, and ``requestContext.path`` carries ``/<stage><path>``.
    """
    event = load_event("rest_v1")
    encoded, length = _encode_body(body, as_base64=as_base64)
    event["httpMethod"] = method
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")} if path != "/" else None
    event["resource"] = "/{proxy+}" if path != "/" else "/"
    event["body"] = encoded
    event["isBase64Encoded"] = as_base64
    ctx = event["requestContext"]
    ctx["httpMethod"] = method
    ctx["stage"] = stage
    ctx["path"] = f"/{stage}{path}"
    ctx["resourcePath"] = event["resource"]
    ctx["requestId"] = str(uuid.uuid4())
    headers: dict[str, str] = event["headers"]
    multi: dict[str, list[str]] = event["multiValueHeaders"]
    for name in ("Content-Type", "Content-Length"):
        headers.pop(name, None)
        multi.pop(name, None)
    if encoded is not None:
        if content_type is not None:
            headers["Content-Type"] = content_type
            multi["Content-Type"] = [content_type]
        headers["Content-Length"] = str(length)
        multi["Content-Length"] = [str(length)]
    return event


def _v2_event(
    shape: Literal["http_v2", "function_url"],
    method: str,
    path: str,
    body: Body,
    stage: str,
    content_type: str | None,
    as_base64: bool,
) -> dict[str, Any]:
    event = load_event(shape)
    encoded, length = _encode_body(body, as_base64=as_base64)
    # A named stage is part of the URL and stays in rawPath and requestContext.http.path;
    # the $default stage (always the case for Function URLs) is not.
    full_path = path if stage == "$default" else f"/{stage}{path}"
    event["rawPath"] = full_path
    ctx = event["requestContext"]
    ctx["stage"] = stage
    ctx["http"]["method"] = method
    ctx["http"]["path"] = full_path
    ctx["requestId"] = str(uuid.uuid4())
    if shape == "http_v2":
        event["pathParameters"] = {"proxy": path.lstrip("/")}
    headers: dict[str, str] = event["headers"]
    headers.pop("content-type", None)
    headers.pop("content-length", None)
    if encoded is None:
        event.pop("body", None)
    else:
        event["body"] = encoded
        if content_type is not None:
            headers["content-type"] = content_type
        headers["content-length"] = str(length)
    event["isBase64Encoded"] = as_base64
    return event


def http_api_v2_event(
    method: str = "GET",
    path: str = "/health",
    body: Body = None,
    stage: str = DEFAULT_STAGE,
    *,
    content_type: str | None = "application/json",
    as_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload 2.0).

    With a named ``stage`` (e.g. ``prod``), ``rawPath`` and ``requestContext.http.path`` are
    ``/<stage><path>``, as on AWS. Pass ``stage="$default"`` for the unprefixed form.
    """
    return _v2_event("http_v2", method, path, body, stage, content_type, as_base64)


def function_url_event(
    method: str = "GET",
    path: str = "/health",
    body: Body = None,
    stage: str = "$default",
    *,
    content_type: str | None = "application/json",
    as_base64: bool = False,
) -> dict[str, Any]:
    """A Lambda Function URL event (payload 2.0, no stage in the path).

    ``stage`` is accepted so that all builders share one signature; Function URLs always use
    ``$default``, and any other value is ignored.
    """
    del stage
    return _v2_event("function_url", method, path, body, "$default", content_type, as_base64)


def build_event(
    shape: EventShape,
    method: str = "GET",
    path: str = "/health",
    body: Body = None,
    stage: str = DEFAULT_STAGE,
    *,
    content_type: str | None = "application/json",
    as_base64: bool = False,
    arrived_s_ago: float = 0.0,
) -> dict[str, Any]:
    """Build an event of any shape: the entry point for parametrised tests.

    ``body`` may be a mapping (sent as JSON), a ``str`` or ``bytes`` (sent as is, e.g. to test
    a non-JSON body), or ``None`` (no body). ``path`` is the app route, without any stage.
    ``arrived_s_ago``: how long before now API Gateway received the request.
    """
    builders = {
        "rest_v1": rest_api_v1_event,
        "http_v2": http_api_v2_event,
        "function_url": function_url_event,
    }
    event = copy.deepcopy(
        builders[shape](method, path, body, stage, content_type=content_type, as_base64=as_base64)
    )
    arrived_ms = int((time.time() - arrived_s_ago) * 1000)
    key = "requestTimeEpoch" if shape == "rest_v1" else "timeEpoch"
    event["requestContext"][key] = arrived_ms
    return event


@dataclass
class FakeLambdaContext:
    """The attributes of the real ``LambdaContext`` that a handler may read."""

    function_name: str = "kopichat-prod-api"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:kopichat-prod-api"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/kopichat-prod-api"
    log_stream_name: str = "2025/02/03/[$LATEST]0123456789abcdef0123456789abcdef"
    remaining_ms: int = 28_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def lambda_context() -> FakeLambdaContext:
    """A fresh context object to pass as the handler's second argument."""
    return FakeLambdaContext()


def response_header(result: Mapping[str, Any], name: str) -> str | None:
    """A response header from a Mangum result, whatever the event shape (case-insensitive)."""
    wanted = name.lower()
    for key, value in (result.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return ", ".join(str(v) for v in values)
    return None


def response_json(result: Mapping[str, Any]) -> Any:
    """The JSON body of a Mangum result, read as the client gets it.

    It does not decode base64: API Gateway REST (with no binary media types) hands a base64 body
    to the client as it is, so a JSON response marked ``isBase64Encoded`` is a bug, and this
    fails on it instead of hiding it."""
    assert result.get("isBase64Encoded") is False, (
        f"a {response_header(result, 'content-type')} body came back base64-encoded: {result}"
    )
    return json.loads(str(result.get("body") or ""))
