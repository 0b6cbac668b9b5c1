"""Retries of the model call (agent/adapters/model_retry.py) against the OpenAI-compatible mock
on loopback, through the real OpenAI client: what is retried, how long the pause is, and that a
slow but healthy attempt is never cut."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import make_chat_model
from agent.adapters.prompt_files import load_prompt_library
from agent.domain import Stance
from agent.errors import DeadlineExceeded, ModelUnavailable
from agent.ports import RESTART
from agent.settings import load_settings
from tests.openai_mock import MockOpenAI, mock_openai

STANCE = Stance("pineapple on pizza", "Pineapple belongs on pizza.")
TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def module_mock() -> Iterator[MockOpenAI]:
    with mock_openai() as m:
        yield m


@pytest.fixture
def mock(module_mock: MockOpenAI) -> Iterator[MockOpenAI]:
    module_mock.reset()
    with module_mock.lock:
        module_mock.requests.clear()
    yield module_mock
    module_mock.reset()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.Runner]:
    """One event loop for the module: the OpenAI client's connection pool belongs to the loop
    that opened it (in the service, the server's one loop)."""
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(scope="module")
def responder(module_mock: MockOpenAI) -> ChainResponder:
    settings = load_settings(
        KOPICHAT_MODEL="openai:gpt-test-mini",
        OPENAI_API_KEY="sk-test-not-a-real-key",
        OPENAI_BASE_URL=module_mock.base_url,
        KOPICHAT_TIMEOUT_S=str(TIMEOUT_S),
    )
    return ChainResponder(load_prompt_library(settings.prompt_version), make_chat_model(settings))


RUNNER: list[asyncio.Runner] = []


@pytest.fixture(autouse=True)
def _runner(loop: asyncio.Runner) -> Iterator[None]:
    RUNNER.append(loop)
    yield
    RUNNER.remove(loop)


def reply(responder: ChainResponder, *, stream: list[str] | None = None) -> str:
    return RUNNER[-1].run(
        responder.reply(
            STANCE,
            [],
            "Fruit on pizza is a crime.",
            "v3",
            TIMEOUT_S,
            on_token=stream.append if stream is not None else None,
        )
    )


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_a_status_that_says_try_again_is_retried(
    responder: ChainResponder, mock: MockOpenAI, status: int
) -> None:
    mock.failures.append((status, {}))
    assert reply(responder).startswith("Rebuttal")
    assert len(mock.chat_requests()) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_status_that_will_not_change_fails_at_once(
    responder: ChainResponder, mock: MockOpenAI, status: int
) -> None:
    mock.failures.append((status, {}))
    with pytest.raises(ModelUnavailable):
        reply(responder)
    assert len(mock.chat_requests()) == 1


def test_a_dropped_connection_is_retried(responder: ChainResponder, mock: MockOpenAI) -> None:
    mock.failures.append((0, {}))  # the server closes the connection without an answer
    assert reply(responder).startswith("Rebuttal")
    assert len(mock.chat_requests()) == 2


def test_retry_after_is_waited_for(responder: ChainResponder, mock: MockOpenAI) -> None:
    mock.failures.append((429, {"retry-after": "1"}))
    assert reply(responder).startswith("Rebuttal")
    first, second = mock.chat_requests()
    assert second["at"] - first["at"] >= 1.0


def test_retry_after_ms_is_read_too(responder: ChainResponder, mock: MockOpenAI) -> None:
    mock.failures.append((503, {"retry-after-ms": "1500", "retry-after": "0"}))
    assert reply(responder).startswith("Rebuttal")
    first, second = mock.chat_requests()
    assert second["at"] - first["at"] >= 1.5


def test_a_retry_after_past_the_deadline_fails_now_without_a_retry(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    mock.failures.append((429, {"retry-after": "60"}))
    with pytest.raises(ModelUnavailable):
        reply(responder)
    assert len(mock.chat_requests()) == 1


def test_every_attempt_failing_is_model_unavailable_after_three(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    mock.mode = "error"
    with pytest.raises(ModelUnavailable):
        reply(responder)
    assert len(mock.chat_requests()) == 3


def test_a_slow_but_healthy_streamed_reply_is_not_cut(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    """Its words take longer than half the deadline: it is neither cut nor asked for twice."""
    mock.chunk_delay_s = 0.3  # 12 chunks: about 3.6 s of a 5 s deadline
    streamed: list[str] = []
    text = reply(responder, stream=streamed)
    assert text.startswith("Rebuttal #1, streamed word by word")
    assert len(mock.chat_requests()) == 1
    assert RESTART not in streamed


def test_a_slow_but_healthy_reply_is_not_cut_when_the_client_does_not_stream(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    mock.chunk_delay_s = 0.3
    assert reply(responder).startswith("Rebuttal #1, streamed word by word")
    assert len(mock.chat_requests()) == 1


def test_a_hung_attempt_is_cut_and_the_retry_answers(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    """No word by half the time left: the attempt is taken for hung, and tried again."""
    calls = {"n": 0}

    def first_hangs() -> None:
        calls["n"] += 1
        mock.mode = "hang" if calls["n"] == 1 else "ok"

    mock.on_request = first_hangs
    assert reply(responder).startswith("Rebuttal #2")
    assert calls["n"] == 2


def test_a_model_that_never_answers_runs_into_the_deadline(
    responder: ChainResponder, mock: MockOpenAI
) -> None:
    mock.mode = "hang"
    with pytest.raises(DeadlineExceeded):
        reply(responder)
    assert len(mock.chat_requests()) == 2  # the hung first attempt and the last one
