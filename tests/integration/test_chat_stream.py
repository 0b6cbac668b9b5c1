"""`POST /api/chat/stream` over a real uvicorn: token events, then the final event whose data is
exactly the `/api/chat` body for the same turn; what fails before the first event answered with
its real status, as on `/api/chat` (tests/integration/test_error_answers.py has the failures
after it, as `error` events); a client that disconnects
mid-stream leaves the turn stored whole. On the fake model, the OpenAI path (the loopback mock
streams) and the offline model."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.adapters.judge import JUDGE_SYSTEM
from tests.conftest import Server, running_server
from tests.openai_mock import MockOpenAI, mock_openai

pytestmark = pytest.mark.slow
OPENING = "Topic: pineapple on pizza. You argue that it belongs on pizza."


@dataclass
class Event:
    event: str
    data: Any


def read_events(response: httpx.Response) -> Iterator[Event]:
    """Server-sent events from a streamed response (comments and pings skipped)."""
    kind, data = "message", list[str]()
    for line in response.iter_lines():
        if line == "":
            if data:
                yield Event(kind, json.loads("\n".join(data)))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def stream_turn(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[Event]:
    with client.stream("POST", "/api/chat/stream", json=body, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(read_events(response))


def check_shape(events: list[Event]) -> tuple[str, Any]:
    """Tokens first, then exactly one final event, which comes last."""
    kinds = [e.event for e in events]
    assert kinds[-1] in ("done", "error"), kinds
    assert set(kinds[:-1]) <= {"token"}, kinds
    return kinds[-1], events[-1].data


def tokens(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.event == "token")


def server_on(env: dict[str, str], folder: Path) -> Iterator[Server]:
    env = {"DATABASE_URL": f"sqlite:///{folder / 'kopichat.db'}", **env}
    with running_server(env, folder, ready_timeout_s=180) as srv:
        yield srv


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from server_on({"KOPICHAT_MODEL": "fake"}, tmp_path_factory.mktemp("stream-fake"))


def test_a_three_turn_debate_streams_and_ends_with_the_chat_body(fake_server: Server) -> None:
    with httpx.Client(base_url=fake_server.base_url, timeout=30) as client:
        conversation = None
        for said in [OPENING, "Fruit is dessert.", "Italians disagree."]:
            key = str(uuid.uuid4())
            body = {"conversation_id": conversation, "message": said}
            events = stream_turn(client, body, {"Idempotency-Key": key})
            kind, final = check_shape(events)
            assert kind == "done", final
            assert len([e for e in events if e.event == "token"]) > 3  # word by word
            # The fake model's tokens are its whole reply, started answer included.
            assert tokens(events) == final["message"][-1]["message"]
            # The final event is exactly what POST /api/chat answers for this turn: the same
            # key replays the stored answer.
            replay = client.post("/api/chat", json=body, headers={"Idempotency-Key": key})
            assert replay.status_code == 200
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json() == final
            conversation = final["conversation_id"]
        stored = client.get(f"/api/conversations/{conversation}").json()
        assert len(stored["messages"]) == 6  # three turns, nothing twice


def test_what_fails_before_the_first_event_gets_its_status_as_on_chat(
    fake_server: Server,
) -> None:
    with httpx.Client(base_url=fake_server.base_url, timeout=30) as client:
        unknown = {"conversation_id": str(uuid.uuid4()), "message": "Hello?"}
        streamed = client.post("/api/chat/stream", json=unknown)
        plain = client.post("/api/chat", json=unknown)
        assert streamed.status_code == plain.status_code == 404
        assert streamed.headers["content-type"] == "application/problem+json"
        assert streamed.json() == plain.json()
        assert streamed.json()["code"] == "conversation_not_found"
        invalid = client.post("/api/chat/stream", json={"message": ""})
        assert invalid.status_code == 422
        assert invalid.headers["content-type"] == "application/problem+json"
        assert invalid.json()["code"] == "validation_error"
        # An Idempotency-Key reused for another message: refused before any event.
        key = {"Idempotency-Key": f"stream-{uuid.uuid4()}"}
        used = client.post("/api/chat/stream", json={"message": OPENING}, headers=key)
        assert used.status_code == 200
        reused = client.post("/api/chat/stream", json={"message": "Other."}, headers=key)
        assert reused.status_code == 422, reused.text
        assert reused.json()["code"] == "idempotency_key_mismatch"


def test_the_stream_is_declared_in_openapi(fake_server: Server) -> None:
    schema = httpx.get(f"{fake_server.base_url}/openapi.json").json()
    operation = schema["paths"]["/api/chat/stream"]["post"]
    assert operation["operationId"] == "chat_stream"
    assert "text/event-stream" in operation["responses"]["200"]["content"]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenAI]:
    with mock_openai() as m:
        yield m


def is_judge_request(body: dict[str, object]) -> bool:
    messages = body.get("messages")
    return (
        isinstance(messages, list) and bool(messages) and messages[0].get("content") == JUDGE_SYSTEM
    )


@pytest.fixture(scope="module")
def openai_server(mock: MockOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "KOPICHAT_MODEL": "openai:debater-test",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": mock.base_url,
    }
    yield from server_on(env, tmp_path_factory.mktemp("stream-openai"))


def test_an_openai_compatible_model_streams_its_tokens(
    openai_server: Server, mock: MockOpenAI
) -> None:
    with httpx.Client(base_url=openai_server.base_url, timeout=30) as client:
        opened = client.post("/api/chat", json={"message": OPENING})
        assert opened.status_code == 200, opened.text
        body = {"conversation_id": opened.json()["conversation_id"], "message": "No fruit."}
        events = stream_turn(client, body)
    kind, final = check_shape(events)
    assert kind == "done", final
    assert len([e for e in events if e.event == "token"]) >= 2
    reply = final["message"][-1]["message"]
    assert reply.startswith("Rebuttal #")
    assert reply.endswith(", streamed word by word as the reply grows.")
    assert tokens(events) == reply
    # The debate call streamed; the guard's judge (on by default here) asked afterwards.
    debate = [r["body"] for r in mock.chat_requests() if not is_judge_request(r["body"])]
    assert debate[-1]["stream"] is True


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from server_on({"KOPICHAT_MODEL": "local"}, tmp_path_factory.mktemp("stream-local"))


def test_the_offline_model_streams_and_its_final_event_holds_the_stored_reply(
    local_server: Server,
) -> None:
    with httpx.Client(base_url=local_server.base_url, timeout=60) as client:
        events = stream_turn(client, {"message": "Cats are better than dogs."})
    kind, final = check_shape(events)
    assert kind == "done", final
    assert len([e for e in events if e.event == "token"]) >= 2
    reply = final["message"][-1]["message"]
    # The first tokens carry the started answer; the stored reply is the tidied text.
    assert tokens(events).startswith("Dogs are better than cats.")
    assert reply.startswith("Dogs are better than cats.")


def test_a_client_that_disconnects_mid_stream_leaves_the_turn_stored_whole(
    local_server: Server,
) -> None:
    with httpx.Client(base_url=local_server.base_url, timeout=60) as client:
        opened = client.post("/api/chat", json={"message": "Tea is better than coffee."})
        assert opened.status_code == 200, opened.text
        conversation = opened.json()["conversation_id"]
        body = {"conversation_id": conversation, "message": "Coffee wakes me up faster."}
        with client.stream("POST", "/api/chat/stream", json=body) as response:
            first = next(read_events(response))
            assert first.event == "token"
        # The connection is closed here, mid-reply. The turn goes on and is stored whole.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            stored = client.get(f"/api/conversations/{conversation}").json()["messages"]
            if len(stored) == 4:
                break
            time.sleep(0.5)
        assert [m["role"] for m in stored] == ["user", "bot", "user", "bot"]
        assert stored[2]["message"] == "Coffee wakes me up faster."
        assert stored[3]["message"].strip()
        # Its lease was given back: the conversation goes on.
        again = client.post("/api/chat", json={"conversation_id": conversation, "message": "Ok?"})
        assert again.status_code == 200, again.text
        assert len(again.json()["message"]) == 5
