"""The Mangum handler with realistic API Gateway REST (v1), HTTP API (v2, named stage) and
Function URL events, on MariaDB with the fake model."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.deploy.lambda_events import (
    SHAPES,
    EventShape,
    build_event,
    lambda_context,
    response_header,
    response_json,
)

pytestmark = pytest.mark.mysql
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def handler(migrated_mysql_url: str) -> Iterator[Handler]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOPICHAT_MODEL", "fake")
        env.setenv("DATABASE_URL", migrated_mysql_url)
        sys.modules.pop("api.lambda_handler", None)
        module = importlib.import_module("api.lambda_handler")
    built: Handler = module.handler
    yield built
    # Mangum runs every invocation on one event loop, as a warm Lambda does; tasks left on it
    # (the event-stream library's shutdown watcher) are ended here, not at interpreter exit.
    loop = asyncio.get_event_loop_policy().get_event_loop()
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@pytest.mark.parametrize("shape", SHAPES)
def test_health_reaches_the_app(handler: Handler, shape: EventShape) -> None:
    result = handler(build_event(shape, "GET", "/health"), lambda_context())
    assert result["statusCode"] == 200
    assert response_json(result) == {"status": "ok"}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_conversation_over_lambda(handler: Handler, shape: EventShape) -> None:
    opening = {"conversation_id": None, "message": "Topic: tea. You argue that tea beats coffee."}
    first = handler(build_event(shape, "POST", "/api/chat", opening), lambda_context())
    assert first["statusCode"] == 200, first
    body = response_json(first)
    conv = body["conversation_id"]
    assert [m["role"] for m in body["message"]] == ["user", "bot"]
    for n in range(3):
        turn = {"conversation_id": conv, "message": f"turn {n} 🍵"}
        result = handler(build_event(shape, "POST", "/api/chat", turn), lambda_context())
        assert result["statusCode"] == 200, result
    items = response_json(result)["message"]
    assert len(items) == 5
    assert items[-2] == {"role": "user", "message": "turn 2 🍵"}
    assert items[-1]["role"] == "bot"


@pytest.mark.parametrize("shape", SHAPES)
def test_errors_keep_their_status_and_problem_json(handler: Handler, shape: EventShape) -> None:
    unknown = {"conversation_id": str(uuid.uuid4()), "message": "hi"}
    result = handler(build_event(shape, "POST", "/api/chat", unknown), lambda_context())
    assert result["statusCode"] == 404
    assert response_header(result, "content-type") == "application/problem+json"
    assert response_json(result)["code"] == "conversation_not_found"
    bad = handler(build_event(shape, "POST", "/api/chat", "not json"), lambda_context())
    assert bad["statusCode"] == 422


# One response of each kind a client may get: (method, path, body, status, content type).
PROBLEM = "application/problem+json"
TEXT_RESPONSES = [
    pytest.param("GET", "/health", None, 200, "application/json", id="200 health"),
    pytest.param("GET", "/openapi.json", None, 200, "application/json", id="200 schema"),
    pytest.param(
        "POST",
        "/api/chat",
        {"conversation_id": str(uuid.uuid4()), "message": "hi"},
        404,
        PROBLEM,
        id="404 unknown conversation",
    ),
    pytest.param("POST", "/api/chat", "not json", 422, PROBLEM, id="422 not json"),
    pytest.param(
        "POST",
        "/api/chat",
        {"conversation_id": None, "message": "   "},
        422,
        PROBLEM,
        id="422 blank message",
    ),
    pytest.param("GET", "/api/conversations/not-a-uuid", None, 422, PROBLEM, id="422 malformed id"),
    pytest.param(
        "POST",
        "/api/chat",
        {"conversation_id": None, "message": "x" * 70_000},
        413,
        PROBLEM,
        id="413 body too large",
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("method", "path", "body", "status", "content_type"), TEXT_RESPONSES)
def test_no_json_response_is_base64_encoded(
    handler: Handler,
    shape: EventShape,
    method: str,
    path: str,
    body: dict[str, Any] | str | None,
    status: int,
    content_type: str,
) -> None:
    # API Gateway REST with no binary media types passes a base64 body to the client as is:
    # the raw result must carry the JSON itself.
    result = handler(build_event(shape, method, path, body), lambda_context())
    assert result["statusCode"] == status, result
    assert response_header(result, "content-type") == content_type
    assert result["isBase64Encoded"] is False, result
    parsed = json.loads(result["body"])
    if status >= 400:
        assert parsed["status"] == status
        assert parsed["code"]


@pytest.mark.parametrize("shape", SHAPES)
def test_pages_and_streams_are_not_base64_encoded(handler: Handler, shape: EventShape) -> None:
    page = handler(build_event(shape, "GET", "/", content_type=None), lambda_context())
    docs = handler(build_event(shape, "GET", "/docs", content_type=None), lambda_context())
    opening = {"conversation_id": None, "message": "Topic: tea. You argue that tea beats coffee."}
    stream = handler(build_event(shape, "POST", "/api/chat/stream", opening), lambda_context())
    for result, kind in ((page, "text/html"), (docs, "text/html"), (stream, "text/event-stream")):
        assert result["statusCode"] == 200, result
        assert str(response_header(result, "content-type")).startswith(kind)
        assert result["isBase64Encoded"] is False, result
        assert str(result["body"]).lstrip().startswith(("<", "event:", ":", "data:", "id:"))


@pytest.mark.parametrize(
    ("shape", "root"), [("rest_v1", "/prod"), ("http_v2", "/prod"), ("function_url", "")]
)
def test_docs_under_a_stage_load_the_schema_under_that_stage(
    handler: Handler, shape: EventShape, root: str
) -> None:
    docs = handler(build_event(shape, "GET", "/docs", content_type=None), lambda_context())
    assert docs["statusCode"] == 200
    page = str(docs["body"])
    assert f"url: '{root}/openapi.json'" in page, page
    # Swagger UI's script comes from this API under the same stage, as text (not base64).
    assert f'src="{root}/docs/assets/swagger-ui-bundle.js"' in page, page
    script = handler(
        build_event(shape, "GET", "/docs/assets/swagger-ui-bundle.js", content_type=None),
        lambda_context(),
    )
    assert script["statusCode"] == 200
    assert str(response_header(script, "content-type")).startswith("text/javascript")
    assert script["isBase64Encoded"] is False
    schema = handler(build_event(shape, "GET", "/openapi.json"), lambda_context())
    assert schema["statusCode"] == 200
    document = response_json(schema)
    assert "/api/chat" in document["paths"]
    assert document.get("servers", []) == ([{"url": root}] if root else [])


def conversation_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM conversations")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_a_request_that_waited_out_api_gateways_29_s_gets_504_and_stores_nothing(
    handler: Handler, migrated_mysql_url: str, shape: EventShape
) -> None:
    opening = {"conversation_id": None, "message": "Topic: tea. You argue that tea beats coffee."}
    before = conversation_count(migrated_mysql_url)
    late = build_event(shape, "POST", "/api/chat", opening, arrived_s_ago=28.0)
    result = handler(late, lambda_context())
    assert result["statusCode"] == 504, result
    assert response_json(result)["code"] == "deadline_exceeded"
    assert conversation_count(migrated_mysql_url) == before

    fresh = handler(build_event(shape, "POST", "/api/chat", opening), lambda_context())
    assert fresh["statusCode"] == 200
    conv = response_json(fresh)["conversation_id"]
    turn = {"conversation_id": conv, "message": "Coffee wakes me up."}
    late_turn = handler(
        build_event(shape, "POST", "/api/chat", turn, arrived_s_ago=27.9), lambda_context()
    )
    assert late_turn["statusCode"] == 504
    transcript = handler(build_event(shape, "GET", f"/api/conversations/{conv}"), lambda_context())
    assert len(response_json(transcript)["messages"]) == 2
    # The failed turn released its lease: the retry goes through.
    retry = handler(build_event(shape, "POST", "/api/chat", turn), lambda_context())
    assert retry["statusCode"] == 200


def test_a_function_url_is_bound_by_the_functions_time_not_the_gateways(handler: Handler) -> None:
    opening = {"conversation_id": None, "message": "Topic: tea. You argue that tea beats coffee."}
    waited = build_event("function_url", "POST", "/api/chat", opening, arrived_s_ago=28.0)
    assert handler(waited, lambda_context())["statusCode"] == 200
    nearly_out = lambda_context()
    nearly_out.remaining_ms = 1000  # less than the margin kept for the commit and the response
    result = handler(build_event("function_url", "POST", "/api/chat", opening), nearly_out)
    assert result["statusCode"] == 504


@pytest.mark.parametrize("shape", SHAPES)
def test_the_debate_page_is_served_without_the_stream(handler: Handler, shape: EventShape) -> None:
    # Mangum buffers whole responses, so on Lambda the page goes straight to POST /api/chat.
    result = handler(build_event(shape, "GET", "/", content_type=None), lambda_context())
    assert result["statusCode"] == 200
    assert response_header(result, "content-type") == "text/html; charset=utf-8"
    assert not result.get("isBase64Encoded")
    html = str(result["body"])
    assert '<meta name="kopichat-stream" content="off">' in html
    assert "readServerSentEvents" in html


@pytest.mark.parametrize("shape", SHAPES)
def test_the_stream_arrives_in_one_piece_on_lambda(handler: Handler, shape: EventShape) -> None:
    # Mangum buffers the response: every event comes at once, the final one with the turn.
    opening = {"conversation_id": None, "message": "Topic: tea. You argue that tea beats coffee."}
    result = handler(build_event(shape, "POST", "/api/chat/stream", opening), lambda_context())
    assert result["statusCode"] == 200, result
    assert str(response_header(result, "content-type")).startswith("text/event-stream")
    body = str(result["body"])
    assert "event: token" in body
    final = body.split("event: done", 1)[1]
    data = next(line[5:].strip() for line in final.splitlines() if line.startswith("data:"))
    assert json.loads(data)["message"][-1]["role"] == "bot"
