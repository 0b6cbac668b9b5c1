"""The Mangum handler with realistic API Gateway REST (v1), HTTP API (v2, named stage) and
Function URL events, on MariaDB with the fake model."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from api.stage_path import without_stage_prefix
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
def handler(migrated_mysql_url: str) -> Handler:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KOPICHAT_MODEL", "fake")
        env.setenv("DATABASE_URL", migrated_mysql_url)
        sys.modules.pop("api.lambda_handler", None)
        module = importlib.import_module("api.lambda_handler")
    built: Handler = module.handler
    return built


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


def test_only_a_whole_stage_segment_is_removed() -> None:
    event = build_event("http_v2", "GET", "/health", stage="prod")
    assert event["rawPath"] == "/prod/health"
    assert without_stage_prefix(event)["requestContext"]["http"]["path"] == "/health"
    products = build_event("http_v2", "GET", "/health", stage="prod")
    products["rawPath"] = products["requestContext"]["http"]["path"] = "/products"
    assert without_stage_prefix(products)["requestContext"]["http"]["path"] == "/products"
    rest = build_event("rest_v1", "GET", "/health")
    assert without_stage_prefix(rest) is rest


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
