"""Failures only a scripted model provokes on demand, over a real uvicorn: an unexpected error is
a problem+json 500 that a browser on an allowed origin can read (CORS headers included), and
the stream answers with the real status what fails before its first event, and with an `error`
event only what fails after it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.errors import ModelUnavailable
from agent.ports import OnToken
from tests.fakes import ResponderCall, ScriptedResponder
from tests.integration.app_server import serving_with

pytestmark = pytest.mark.slow

ORIGIN = "https://debate.example"
PROBLEM_JSON = "application/problem+json"
WAIT_LIMIT_S = 20.0  # hang guard, not a speed target


class GatedResponder(ScriptedResponder):
    """While `gated`, each call waits for the test to open the gate, on a worker thread so that
    the server goes on answering other requests meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.gated = False
        self.waiting = threading.Event()
        self.gate = threading.Event()

    async def _answer(self, call: ResponderCall, on_token: OnToken | None = None) -> str:
        if self.gated:
            self.waiting.set()
            await asyncio.to_thread(self.gate.wait, WAIT_LIMIT_S)
        return await super()._answer(call, on_token)


@pytest.fixture
def responder() -> GatedResponder:
    return GatedResponder()


@pytest.fixture
def base_url(responder: GatedResponder, tmp_path: Path) -> Iterator[str]:
    with serving_with(responder, tmp_path, KOPICHAT_CORS_ORIGINS=ORIGIN) as url:
        yield url


def events_of(response: httpx.Response) -> list[tuple[str, Any]]:
    events, kind, data = [], "message", list[str]()
    for line in response.iter_lines():
        if line == "":
            if data:
                events.append((kind, json.loads("\n".join(data))))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return events


def test_an_unexpected_error_is_a_problem_that_an_allowed_origin_can_read(
    responder: GatedResponder, base_url: str
) -> None:
    responder.fail_with = RuntimeError("a bug")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        allowed = client.post(
            "/api/chat", json={"message": "Tea beats coffee."}, headers={"Origin": ORIGIN}
        )
        other = client.post(
            "/api/chat",
            json={"message": "Tea beats coffee."},
            headers={"Origin": "https://elsewhere.example"},
        )
    for answer in (allowed, other):
        assert answer.status_code == 500
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert answer.json()["code"] == "internal_error"
        assert "a bug" not in answer.text
        assert answer.headers["x-request-id"]
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


def test_a_failure_after_the_first_token_is_an_error_event(
    responder: GatedResponder, base_url: str
) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        opened = client.post("/api/chat", json={"message": "Tea beats coffee."})
        assert opened.status_code == 200, opened.text
        conversation = opened.json()["conversation_id"]
        responder.fail_with = ModelUnavailable("the model went away mid-reply")
        body = {"conversation_id": conversation, "message": "Coffee wakes me up."}
        with client.stream("POST", "/api/chat/stream", json=body) as response:
            assert response.status_code == 200
            events = events_of(response)
        stored = client.get(f"/api/conversations/{conversation}").json()["messages"]
    kinds = [kind for kind, _ in events]
    assert kinds == ["token", "token", "token", "error"], events
    problem = events[-1][1]
    assert problem["status"] == 503
    assert problem["code"] == "model_unavailable"
    assert problem["retry_after"] >= 1
    assert len(stored) == 2  # the failed turn stored nothing


def test_a_turn_already_running_is_a_409_before_the_stream_starts(
    responder: GatedResponder, base_url: str
) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        opened = client.post("/api/chat", json={"message": "Tea beats coffee."})
        conversation = opened.json()["conversation_id"]
        responder.gated = True  # the next turn holds its conversation until the gate opens
        body = {"conversation_id": conversation, "message": "Coffee wakes me up."}
        first: list[httpx.Response] = []
        running = threading.Thread(target=lambda: first.append(client.post("/api/chat", json=body)))
        running.start()
        assert responder.waiting.wait(WAIT_LIMIT_S), "the first turn never reached the model"
        second = client.post(
            "/api/chat/stream",
            json={"conversation_id": conversation, "message": "And another thing."},
        )
        responder.gate.set()
        running.join()
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == PROBLEM_JSON
    assert second.json()["code"] == "turn_in_progress"
    assert int(second.headers["retry-after"]) >= 1
    assert first[0].status_code == 200, first[0].text
