"""The `openai` provider end to end: Kopichat under uvicorn talking to an OpenAI-compatible mock
server on loopback. Checks what the model receives, and the deadline and failure paths."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, running_server
from tests.openai_mock import OPENING_JSON, MockOpenAI, mock_openai

TIMEOUT_S = 3.0
CONTEXT_MESSAGES = 4


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenAI]:
    with mock_openai() as m:
        yield m


@pytest.fixture(scope="module")
def server(mock: MockOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("openai")
    env = {
        "KOPICHAT_MODEL": "openai:gpt-test-mini",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": mock.base_url,
        "DATABASE_URL": f"sqlite:///{tmp / 'openai.db'}",
        "KOPICHAT_TIMEOUT_S": str(TIMEOUT_S),
        "KOPICHAT_CONTEXT_MESSAGES": str(CONTEXT_MESSAGES),
    }
    with running_server(env, tmp) as srv:
        yield srv


@pytest.fixture
def client(server: Server, mock: MockOpenAI) -> Iterator[httpx.Client]:
    mock.mode, mock.delay_s = "ok", 0.0
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def post(client: httpx.Client, conv: str | None, text: str) -> httpx.Response:
    return client.post("/api/chat", json={"conversation_id": conv, "message": text})


def message_count(client: httpx.Client, conv: str) -> int:
    return len(client.get(f"/api/conversations/{conv}").json()["messages"])


def test_the_model_gets_the_thesis_the_history_window_and_one_call_per_turn(
    client: httpx.Client, mock: MockOpenAI
) -> None:
    start = len(mock.chat_requests())
    first = post(client, None, "Topic: pineapple on pizza. You argue that it belongs on pizza.")
    assert first.status_code == 200, first.text
    conv = first.json()["conversation_id"]
    assert first.json()["message"][-1]["message"] == OPENING_JSON["reply"]
    view = client.get(f"/api/conversations/{conv}").json()
    assert (view["topic"], view["thesis"]) == (OPENING_JSON["topic"], OPENING_JSON["thesis"])

    for n in range(1, 6):
        assert post(client, conv, f"user point {n}").status_code == 200
    requests = mock.chat_requests()[start:]
    assert len(requests) == 6  # one model call per turn, the opening included
    for request in requests:
        assert request["path"] == "/v1/chat/completions"
        assert request["body"]["model"] == "gpt-test-mini"
        assert request["auth"] == "Bearer sk-test-not-a-real-key"
        # The reply length is capped (KOPICHAT_MAX_REPLY_TOKENS, default 400).
        assert request["body"]["max_completion_tokens"] == 400

    opening_messages = requests[0]["body"]["messages"]
    assert "Answer with one JSON object" in opening_messages[0]["content"]
    assert opening_messages[-1]["content"].startswith("Topic: pineapple on pizza.")

    last: list[dict[str, Any]] = requests[-1]["body"]["messages"]
    assert last[0]["role"] == "system"
    assert (
        "Your side, which you defend for the whole conversation: Pineapple belongs on pizza."
        in last[0]["content"]
    )
    assert "Topic: pineapple on pizza" in last[0]["content"]
    history = last[1:-1]
    assert len(history) == CONTEXT_MESSAGES
    assert [m["role"] for m in history] == ["user", "assistant"] * 2
    assert [m["content"] for m in history][::2] == ["user point 3", "user point 4"]
    assert last[-1] == {"role": "user", "content": "user point 5"}


def test_a_hung_model_gives_504_inside_the_deadline_and_stores_nothing(
    client: httpx.Client, mock: MockOpenAI
) -> None:
    conv = post(client, None, "Cats are better than dogs").json()["conversation_id"]
    mock.mode = "hang"
    started = time.monotonic()
    response = post(client, conv, "still there?")
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "deadline_exceeded"
    assert elapsed < TIMEOUT_S + 2.0, elapsed  # the one deadline covers every retry
    mock.mode = "ok"
    assert message_count(client, conv) == 2
    retry = post(client, conv, "still there?")  # nothing half-stored: the retry just works
    assert retry.status_code == 200
    assert [m["message"] for m in retry.json()["message"]][-2] == "still there?"
    assert message_count(client, conv) == 4


def test_a_failing_model_gives_503_and_stores_nothing(
    client: httpx.Client, mock: MockOpenAI
) -> None:
    conv = post(client, None, "Cats are better than dogs").json()["conversation_id"]
    mock.mode = "error"
    before = len(mock.chat_requests())
    response = post(client, conv, "hello?")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "model_unavailable"
    assert "sk-test" not in response.text
    assert len(mock.chat_requests()) - before == 3  # the first try and two retries
    assert message_count(client, conv) == 2
    new = post(client, None, "Dogs are loyal")
    assert new.status_code == 503
    assert new.json()["code"] == "model_unavailable"


def test_two_turns_at_once_on_one_conversation_one_wins_one_is_409(
    client: httpx.Client, mock: MockOpenAI
) -> None:
    conv = post(client, None, "Tea is better than coffee").json()["conversation_id"]
    mock.mode, mock.delay_s = "slow", 1.0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(post, client, conv, f"parallel {n}") for n in range(2)]
        statuses = sorted(f.result().status_code for f in futures)
    assert statuses == [200, 409]
    mock.mode = "ok"
    view = client.get(f"/api/conversations/{conv}").json()
    assert len(view["messages"]) == 4
    assert [m["role"] for m in view["messages"]] == ["user", "bot", "user", "bot"]
    # The conversation is free again for the next turn.
    assert post(client, conv, "next").status_code == 200


def test_different_conversations_run_in_parallel(client: httpx.Client, mock: MockOpenAI) -> None:
    convs = [post(client, None, f"Topic {n}: tea").json()["conversation_id"] for n in range(3)]
    mock.mode, mock.delay_s = "slow", 0.5
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: post(client, c, "go"), convs))
    assert [r.status_code for r in results] == [200, 200, 200]


def test_the_key_never_reaches_the_log(server: Server) -> None:
    assert "sk-test-not-a-real-key" not in Path(server.log_path).read_text()
