"""Kopichat's OpenAI path end to end against a real OpenAI-protocol server: llama-cpp-python's own
`llama_cpp.server` with the bundled SmolLM2-135M model, on loopback (evals/model_server.py).

What a hand-written mock never does: a grammar-constrained JSON answer, a small model's real
streamed tokens, a real connection dropped mid-stream. The mock (tests/openai_mock.py) stays for
the faults a real server cannot be made to produce (5xx, garbage, Retry-After).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.adapters.chat_models import make_chat_model
from agent.adapters.debate_chain import build_opening_chain
from agent.adapters.opening_answer import answer_from, structured
from agent.adapters.prompt_files import load_prompt_set
from agent.domain import Stance
from agent.settings import load_settings
from agent.understanding.guard import fallback_reply
from agent.understanding.phrases import opening_fallback
from agent.understanding.reading import read_opening
from evals.model_server import ModelServer, model_server
from tests.conftest import Server, running_server
from tests.integration.test_chat_stream import read_events
from tests.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.slow

CLAIM = "Cats are better pets than dogs."
PROMPTS = load_prompt_set("v3")


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    with model_server(tmp_path_factory.mktemp("model-server")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(llama: ModelServer) -> Iterator[TcpProxy]:
    port = int(llama.base_url.rsplit(":", 1)[1].split("/")[0])
    with tcp_proxy("127.0.0.1", port) as through:
        yield through


def kopichat_on(base_url: str, folder: Path, **env: str) -> Iterator[Server]:
    full = {
        "KOPICHAT_MODEL": "openai:smollm2-135m",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "sk-local-no-key-needed",
        "KOPICHAT_STRUCTURED_OUTPUT": "json_mode",
        "DATABASE_URL": f"sqlite:///{folder / 'kopichat.db'}",
        **env,
    }
    with running_server(full, folder, ready_timeout_s=120) as server:
        yield server


@pytest.fixture(scope="module")
def through_proxy(proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Kopichat whose model connection runs through the proxy, with the guard off, so that the
    reply is streamed exactly as stored (the guard on real replies: the last test)."""
    folder = tmp_path_factory.mktemp("kopichat-proxied")
    yield from kopichat_on(f"http://127.0.0.1:{proxy.port}/v1", folder, KOPICHAT_GUARD="false")


def settings_for(llama: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in llama.env().items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_json_mode_with_the_schema_makes_a_small_model_answer_in_the_right_shape(
    llama: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_chat_model(settings_for(llama, monkeypatch)).model
    prompt = [("system", PROMPTS.opening_system.replace("{{", "{").replace("}}", "}"))]
    raw = structured(model, "json_mode_schema").invoke([*prompt, ("human", CLAIM)])
    answer = answer_from(raw)
    assert answer is not None, raw.content  # the grammar gave it the right keys and types
    assert answer.kind in {"assigned", "claim", "topic", "none"}


def test_an_answer_that_does_not_conform_falls_back_to_the_rules(
    llama: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the schema (JSON asked for by the prompt alone) the 135M model does not answer in
    # the opening's shape: the rules read the message, and no text of the answer is shown.
    model = make_chat_model(settings_for(llama, monkeypatch)).model
    chain = build_opening_chain(PROMPTS, model, method=None)
    opening = chain.invoke({"history": [], "message": CLAIM})
    reading = read_opening(CLAIM)
    assert reading.stance is not None
    assert opening.stance == reading.stance
    assert opening.reply == opening_fallback("en", reading.stance.thesis)


def events_of(client: httpx.Client, body: dict[str, Any]) -> list[tuple[str, Any]]:
    with client.stream("POST", "/api/chat/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        return [(e.event, e.data) for e in read_events(response)]


def stored_reply(client: httpx.Client, conversation_id: str) -> str:
    view = client.get(f"/api/conversations/{conversation_id}").json()
    return str(view["messages"][-1]["message"])


def test_a_streamed_turn_sends_tokens_then_the_stored_turn(through_proxy: Server) -> None:
    with httpx.Client(base_url=through_proxy.base_url, timeout=60) as client:
        opened = client.post("/api/chat", json={"message": CLAIM})
        assert opened.status_code == 200, opened.text
        conversation = opened.json()["conversation_id"]
        body = {"conversation_id": conversation, "message": "Cats are quiet and clean."}
        events = events_of(client, body)
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "done", events[-1]
        assert set(kinds[:-1]) <= {"token"}
        assert kinds.count("token") >= 2
        done = events[-1][1]
        assert done["conversation_id"] == conversation
        assert done["message"][-1]["message"] == stored_reply(client, conversation)
        streamed = "".join(data["text"] for kind, data in events if kind == "token")
        assert streamed.strip() == done["message"][-1]["message"]


def test_a_stream_cut_mid_reply_restarts_and_never_glues_two_attempts(
    through_proxy: Server, proxy: TcpProxy
) -> None:
    with httpx.Client(base_url=through_proxy.base_url, timeout=60) as client:
        opened = client.post("/api/chat", json={"message": CLAIM})
        assert opened.status_code == 200, opened.text
        conversation = opened.json()["conversation_id"]
        dropped = proxy.dropped
        # The server's connection is closed after ~30 streamed chunks: mid-reply.
        proxy.drop_after_received(6000)
        body = {"conversation_id": conversation, "message": "Dogs are loyal. Cats are not."}
        try:
            events = events_of(client, body)
        finally:
            proxy.drop_after_received(None)  # never left armed for the next test
    assert proxy.dropped == dropped + 1, "the connection was not cut mid-stream"
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done", events[-1]
    assert "restart" in kinds, kinds
    first_restart = kinds.index("restart")
    assert "token" in kinds[:first_restart]  # the abandoned attempt had streamed text
    last_restart = len(kinds) - 1 - kinds[::-1].index("restart")
    after = "".join(data["text"] for kind, data in events[last_restart:] if kind == "token")
    stored = events[-1][1]["message"][-1]["message"]
    # What follows the restart is the retry's reply alone, as stored.
    assert after.strip() == stored
    with httpx.Client(base_url=through_proxy.base_url, timeout=30) as client:
        assert stored == stored_reply(client, conversation)


def test_a_model_that_stops_answering_runs_into_the_deadline(
    proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("kopichat-deadline")
    server_env = {"KOPICHAT_TIMEOUT_S": "4", "KOPICHAT_GUARD_JUDGE_MODEL": "off"}
    for server in kopichat_on(f"http://127.0.0.1:{proxy.port}/v1", folder, **server_env):
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            proxy.stall()  # the server takes the request and never answers
            try:
                late = client.post("/api/chat", json={"message": CLAIM})
            finally:
                proxy.restore()
            assert late.status_code == 504, late.text
            assert late.json()["code"] == "deadline_exceeded"
            assert late.headers["retry-after"]
        # Every attempt got its share of the one deadline, and no more.
        assert server.log().count("timed out after") >= 1


def test_the_guard_and_its_judge_on_real_replies(
    llama: ModelServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The judge is on by default on this path: the same small model, schema-constrained. Every
    argued reply is judged (one more request to the server each), the judge always answers,
    and a reply the guard failed is visibly replaced, as the log says."""
    folder = tmp_path_factory.mktemp("kopichat-judged")
    pushes = ["You're wrong, cats are cleaner.", "Admit it, cats win.", "Just agree with me."]
    # A verdict of the 135M model on 2 shared cores takes about 4 s, near the default's 5: the
    # judge gets the time an operator of such a model would give it, within the longest deadline.
    env = {"KOPICHAT_GUARD_JUDGE_TIMEOUT_S": "12", "KOPICHAT_TIMEOUT_S": "28"}
    for server in kopichat_on(llama.base_url, folder, KOPICHAT_ACCESS_LOG="true", **env):
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            opened = client.post("/api/chat", json={"message": CLAIM})
            assert opened.status_code == 200, opened.text
            conversation = opened.json()["conversation_id"]
            served_before = llama_requests(llama)
            replies = []
            for push in pushes:
                turn = {"conversation_id": conversation, "message": push}
                answered = client.post("/api/chat", json=turn)
                assert answered.status_code == 200, answered.text
                replies.append(answered.json()["message"][-1]["message"])
            view = client.get(f"/api/conversations/{conversation}").json()
        log = server.log()
        assert "stance guard on, judge openai:smollm2-135m" in log
        assert "guard judge failed" not in log
        assert "guard judge gave no verdict" not in log
        # A debate call and a judge call per turn, at the least (more where a reply was redone).
        assert llama_requests(llama) - served_before >= 2 * len(pushes)
        turns = [
            json.loads(line)
            for line in log.splitlines()
            if line.startswith("{") and '"route": "/api/chat"' in line
        ][1:]  # the opening turn is not judged
        assert len(turns) == len(pushes)
        stance = Stance(view["topic"], view["thesis"])
        for push, reply, logged in zip(pushes, replies, turns, strict=True):
            if str(logged.get("guard", "")).endswith("; fallback"):
                assert reply == fallback_reply(stance, push)


def llama_requests(llama: ModelServer) -> int:
    """Chat completions the model server has answered so far (its access log)."""
    return llama.log_path.read_text(errors="replace").count("POST /v1/chat/completions")
