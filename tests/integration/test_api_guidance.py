"""Errors that say what to do, and a schema that names every answer, over a real uvicorn.

A newcomer's careless requests (a made-up id, a body without the JSON content type, broken
JSON) get a sentence saying what to send instead; every problem code is in the README's table
and in the schema; no route declares FastAPI's default 422 body, which this API never sends.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent import errors
from api.schemas import PROBLEM_CODES
from tests.conftest import ROOT, Server, running_server

pytestmark = pytest.mark.slow

PROBLEM_JSON = "application/problem+json"
REGEX_SHOWN = re.compile(r"\[0-9a-fA-F\]|\^|\$'")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("guidance")
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{work / 'guidance.db'}"}
    with running_server(env, work) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def schema(server: Server) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.base_url}/openapi.json").json()
    return document


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_an_unknown_conversation_says_how_to_start_a_new_one(client: httpx.Client) -> None:
    unknown = str(uuid.uuid4())
    answer = client.post("/api/chat", json={"conversation_id": unknown, "message": "Hello?"})
    detail = problem_of(answer, 404, "conversation_not_found")["detail"]
    assert detail == (
        f"conversation {unknown} does not exist. "
        'To start a new conversation, send "conversation_id": null (or leave it out).'
    )


@pytest.mark.parametrize(
    "bad_id", ["0b3c4f5e", "not-a-uuid", "0b3c4f5e-2d1a-4c9b-8e7f-6a5b4c3d2e1"]
)
def test_a_malformed_id_gets_a_sentence_not_a_pattern(client: httpx.Client, bad_id: str) -> None:
    sentence = "conversation_id must be a UUID as returned by the first call"
    for answer in (
        client.post("/api/chat", json={"conversation_id": bad_id, "message": "Hello?"}),
        client.get(f"/api/conversations/{bad_id}"),
        client.delete(f"/api/conversations/{bad_id}"),
    ):
        body = problem_of(answer, 422, "validation_error")
        assert sentence in body["detail"], body
        assert all(sentence in e["msg"] for e in body["errors"]), body
        assert not REGEX_SHOWN.search(answer.text), answer.text


def test_a_form_encoded_body_is_told_to_send_json(client: httpx.Client) -> None:
    # What `curl -d '{...}'` sends without `-H 'content-type: application/json'`.
    body = '{"conversation_id": null, "message": "Cats are better than dogs."}'
    answer = client.post(
        "/api/chat",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    detail = problem_of(answer, 422, "validation_error")["detail"]
    assert "Content-Type application/x-www-form-urlencoded" in detail
    assert "curl -d" in detail
    assert "Content-Type: application/json" in detail
    assert "dictionary" not in answer.text


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_text_body_is_told_to_send_json(client: httpx.Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = client.post("/api/chat", content=b'{"message": "hi"}', headers=headers)
    detail = problem_of(answer, 422, "validation_error")["detail"]
    assert "Content-Type: application/json" in detail
    assert (content_type or "no Content-Type") in detail


def test_broken_json_says_where_it_broke(client: httpx.Client) -> None:
    broken = '{\n  "conversation_id": null,\n  "message": "Cats are better than dogs.",\n}'
    answer = client.post("/api/chat", content=broken, headers={"content-type": "application/json"})
    detail = problem_of(answer, 422, "validation_error")["detail"]
    assert "not valid JSON" in detail
    assert "line 4, column 1" in detail, detail
    assert "JSON decode error" not in answer.text
    assert "Cats" not in answer.text  # the body is never echoed back


def test_a_json_list_is_told_to_send_an_object(client: httpx.Client) -> None:
    answer = client.post("/api/chat/stream", json=["Cats are better than dogs."])
    detail = problem_of(answer, 422, "validation_error")["detail"]
    assert "must be a JSON object" in detail


def test_a_whitespace_message_is_refused_by_the_schema_and_the_server(
    client: httpx.Client, schema: dict[str, Any]
) -> None:
    message = schema["components"]["schemas"]["ChatRequest"]["properties"]["message"]
    pattern = re.compile(message["pattern"])
    assert pattern.search(" \t\n ") is None  # the schema refuses whitespace alone...
    assert pattern.search(" a ") is not None
    answer = client.post("/api/chat", json={"message": " \t\n "})
    problem_of(answer, 422, "validation_error")  # ...and so does the server


def readme_codes() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| (?:\d{3}|other) \| `([a-z_]+)` \|", readme, re.M))


def codes_raised() -> set[str]:
    """Every code this project can put in a problem: the error classes and the literals."""
    found = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.KopichatError)
    } - {errors.KopichatError.code}
    for path in sorted((ROOT / "api").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'problem\(\s*(?:send\w*,\s*)?\d{3},\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'"code": "([a-z_]+)"', text))
        found |= set(re.findall(r'\d{3}: "([a-z_]+)"', text))  # a status -> code table
    return found


def test_every_problem_code_is_in_the_readme_table_and_the_schema(schema: dict[str, Any]) -> None:
    raised = codes_raised()
    assert {"not_found", "method_not_allowed", "internal_error", "body_too_large"} <= raised
    assert raised <= set(PROBLEM_CODES), raised - set(PROBLEM_CODES)
    assert readme_codes() == set(PROBLEM_CODES)
    described = schema["components"]["schemas"]["Problem"]["properties"]["code"]["description"]
    for code in PROBLEM_CODES:
        assert f"`{code}`" in described


def test_no_route_declares_the_default_validation_body(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response["content"]
                    assert PROBLEM_JSON in content, (method, path, status)
                    for media in content.values():
                        assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
    for path in ("/health", "/ready"):
        assert "422" not in schema["paths"][path]["get"]["responses"]


def test_the_stream_declares_every_status_it_answers(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/chat/stream"]["post"]["responses"]
    assert {"404", "409", "422", "429", "503", "504"} <= set(responses)
    chat = schema["paths"]["/api/chat"]["post"]["responses"]
    assert set(responses) == set(chat)


def test_a_path_that_does_not_exist_and_a_wrong_method_are_problems(client: httpx.Client) -> None:
    problem_of(client.get("/api/nothing-here"), 404, "not_found")
    wrong = client.put("/api/chat", json={})
    problem_of(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]


def test_the_docs_pages_and_their_assets_are_served_here(client: httpx.Client) -> None:
    assert client.get("/redoc").status_code == 404  # ReDoc would load its logo from a CDN
    for page in ("/docs",):
        html = client.get(page)
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        external = re.findall(r'(?:src|href)="(https?:[^"]+)"', html.text)
        assert external == [], external
        for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html.text):
            fetched = client.get(asset)
            assert fetched.status_code == 200, asset
            assert fetched.headers["content-type"].startswith(("text/javascript", "text/css"))
            assert len(fetched.content) > 10_000
    problem_of(client.get("/docs/assets/nothing.js"), 404, "not_found")
