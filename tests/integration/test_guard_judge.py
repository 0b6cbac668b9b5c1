"""The stance guard's judge in the real service (uvicorn, SQLite), with the debater and the judge
both served by the OpenAI-compatible mock on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent.domain import Stance
from agent.understanding.guard import fallback_reply
from tests.conftest import Server, running_server
from tests.openai_mock import JUDGE_MARKER, MockOpenAI, mock_openai

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenAI]:
    with mock_openai() as m:
        yield m


@pytest.fixture(scope="module")
def server(mock: MockOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("guard-judge")
    env = {
        "KOPICHAT_MODEL": "openai:debater-test",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": mock.base_url,
        "KOPICHAT_GUARD_JUDGE_MODEL": "openai:judge-test",
        "DATABASE_URL": f"sqlite:///{folder / 'kopichat.db'}",
    }
    with running_server(env, folder) as srv:
        yield srv


def judge_requests(mock: MockOpenAI) -> list[dict[str, Any]]:
    return [
        r["body"]
        for r in mock.chat_requests()
        if JUDGE_MARKER in r["body"]["messages"][0]["content"]
    ]


def open_debate(client: httpx.Client) -> str:
    opened = client.post("/api/chat", json={"message": "Topic: pineapple on pizza."})
    assert opened.status_code == 200, opened.text
    return str(opened.json()["conversation_id"])


def test_a_reply_the_judge_passes_is_sent_as_the_model_wrote_it(
    server: Server, mock: MockOpenAI
) -> None:
    mock.reset()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        conversation = open_debate(client)
        before = len(judge_requests(mock))
        turn = client.post(
            "/api/chat", json={"conversation_id": conversation, "message": "Fruit is dessert."}
        )
    assert turn.status_code == 200, turn.text
    assert turn.json()["message"][-1]["message"].startswith("Rebuttal #")
    asked = judge_requests(mock)[before:]
    assert len(asked) == 1
    assert asked[0]["model"] == "judge-test"
    graded = asked[0]["messages"][-1]["content"]
    assert "THESIS: Pineapple belongs on pizza." in graded
    assert "USER'S LATEST MESSAGE: Fruit is dessert." in graded


def test_a_reply_the_judge_fails_is_regenerated_then_replaced(
    server: Server, mock: MockOpenAI
) -> None:
    mock.reset()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        conversation = open_debate(client)
        mock.judge = lambda _graded: {"holds_thesis": False, "on_topic": True, "rebuts": False}
        turn = client.post(
            "/api/chat", json={"conversation_id": conversation, "message": "Fruit is dessert."}
        )
    assert turn.status_code == 200, turn.text
    stance = Stance("pineapple on pizza", "Pineapple belongs on pizza.")
    assert turn.json()["message"][-1]["message"] == fallback_reply(stance, "Fruit is dessert.")
    debater_calls = [
        r for r in mock.chat_requests() if JUDGE_MARKER not in r["body"]["messages"][0]["content"]
    ]
    last_user = debater_calls[-1]["body"]["messages"][-1]["content"]
    assert "Reminder to the debater" in last_user  # the regeneration carried the reminder
    assert "stance guard" in server.log()


def test_the_judge_is_named_in_the_startup_log(server: Server) -> None:
    assert "stance guard on, judge openai:judge-test" in server.log()
