"""Resumable streams and cancel over real uvicorn servers, on SQLite and on MariaDB.

Two servers share one database, as two processes (or two Lambda instances) would: server A runs
the turns, server B knows them only from the database. A client resumes a stream on A (from
A's memory) or on B (from the stored events, polled); it cancels on A (the task stops at once)
or on B (the turn on A learns it from the database). The model is a fake that streams half of
its reply, then waits at a gate the test opens, so "mid-reply" is a state, not a moment.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agent.adapters.sql.engine import make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.tables import stream_events
from agent.domain import Message, Opening, Stance
from agent.ports import OnToken
from tests.integration.app_server import serving_with

pytestmark = pytest.mark.slow

KEY_A = "alpha-key-0123456789abcdef"
KEY_B = "beta-key-fedcba9876543210"
AS_A = {"X-API-Key": KEY_A}
AS_B = {"X-API-Key": KEY_B}
WORDS = ["Tea ", "is ", "calm ", "and ", "coffee ", "is ", "nervous ", "noise."]
REPLY = "".join(WORDS)
HALF = 4
HANG_GUARD_S = 30.0  # a hang guard only


@dataclass
class GatedResponder:
    """Streams WORDS: the first HALF at once, the rest once `gate` is open."""

    gate: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    trickle: bool = False  # while at the gate, go on writing a word every few milliseconds

    async def open(
        self,
        message: str,
        history: list[Message],
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> Opening:
        return Opening(Stance("tea", "Tea beats coffee."), "Tea beats coffee. Prove otherwise.")

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> str:
        emit = on_token or (lambda _text: None)
        for word in WORDS[:HALF]:
            emit(word)
        self.waiting.set()
        try:
            while not self.gate.is_set():  # the gate is set by the test thread
                await asyncio.sleep(0.01)
                if self.trickle:
                    emit("and ")
        except asyncio.CancelledError:
            self.stopped.set()
            raise
        for word in WORDS[HALF:]:
            emit(word)
        return REPLY


@dataclass
class Rig:
    a: str  # runs the turns
    b: str  # shares the database only
    model: GatedResponder
    database_url: str

    def hold(self) -> None:
        self.model.trickle = False
        self.model.gate.clear()
        self.model.waiting.clear()
        self.model.stopped.clear()

    def release(self) -> None:
        self.model.gate.set()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("resume")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'shared.db'}"
    else:
        url = request.getfixturevalue("migrated_mysql_url")
    model = GatedResponder()
    model.gate.set()
    keys = {"KOPICHAT_API_KEYS": f"{KEY_A}, {KEY_B}"}
    with (
        serving_with(model, folder, url, **keys) as a,
        serving_with(GatedResponder(), folder, url, **keys) as b,
    ):
        yield Rig(a, b, model, url)
    model.gate.set()


@dataclass
class Event:
    id: str
    event: str
    data: Any


def events_of(response: httpx.Response) -> Iterator[Event]:
    """Server-sent events with their ids (comments and pings skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield Event(
                    fields.get("id", ""), fields.get("event", ""), json.loads(fields["data"])
                )
            fields = {}
        elif not line.startswith(":") and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value.removeprefix(" ")


def opened(base: str) -> str:
    """A new conversation (its first turn), owned by key A."""
    answer = httpx.post(f"{base}/api/chat", json={"message": "Tea or coffee?"}, headers=AS_A)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["conversation_id"])


def text_of(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.event == "token")


def stored_messages(base: str, conversation: str) -> list[tuple[str, str]]:
    view = httpx.get(f"{base}/api/conversations/{conversation}", headers=AS_A).json()
    return [(m["role"], m["message"]) for m in view["messages"]]


def start_turn(client: httpx.Client, conversation: str, message: str) -> httpx.Response:
    request = client.build_request(
        "POST",
        "/api/chat/stream",
        json={"conversation_id": conversation, "message": message},
        headers=AS_A,
    )
    response = client.send(request, stream=True)
    assert response.status_code == 200, response.read()
    return response


def first_events(response: httpx.Response, count: int) -> list[Event]:
    """The stream's first `count` events; then the connection is dropped."""
    received: list[Event] = []
    for event in events_of(response):
        received.append(event)
        if len(received) == count:
            break
    response.close()
    return received


@contextmanager
def resumed(
    base: str, conversation: str, after: str | None, *, header: bool = True
) -> Iterator[httpx.Response]:
    """GET .../stream after the event id `after`, sent as Last-Event-ID (or as ?after=)."""
    headers = dict(AS_A)
    params = {}
    if after is not None and header:
        headers["Last-Event-ID"] = after
    elif after is not None:
        params["after"] = after
    url = f"{base}/api/conversations/{conversation}/stream"
    with httpx.stream("GET", url, headers=headers, params=params, timeout=HANG_GUARD_S) as r:
        yield r


def replayed(base: str, conversation: str, after: str | None) -> list[Event]:
    with resumed(base, conversation, after) as response:
        assert response.status_code == 200, response.read()
        return list(events_of(response))


def check_ids(events: list[Event]) -> None:
    """One turn's ids, numbered 1, 2, 3, ... without a gap or a repeat."""
    turns = {e.id.split("-")[0] for e in events}
    assert len(turns) == 1, events
    assert [int(e.id.split("-")[1]) for e in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize(
    ("where", "header"), [("a", True), ("b", True), ("a", False), ("b", False)]
)
def test_a_dropped_stream_resumes_after_the_last_event_and_ends_with_done(
    rig: Rig, where: str, header: bool
) -> None:
    conversation = opened(rig.a)
    rig.hold()
    with httpx.Client(base_url=rig.a, timeout=HANG_GUARD_S) as client:
        before = first_events(start_turn(client, conversation, "Coffee wakes me up."), 2)
    assert [e.event for e in before] == ["token", "token"]
    assert rig.model.waiting.wait(HANG_GUARD_S)
    with resumed(getattr(rig, where), conversation, before[-1].id, header=header) as response:
        assert response.status_code == 200, response.read()
        stream = events_of(response)
        after: list[Event] = []
        # Replayed: the rest of the first half, sent before the drop was noticed.
        while len(after) < HALF - 2:
            after.append(next(stream))
        rig.release()  # live from here
        after.extend(stream)
    everything = before + after
    check_ids(everything)
    assert [e.event for e in everything] == ["token"] * len(WORDS) + ["done"]
    assert text_of(everything) == REPLY  # every word once
    done = everything[-1].data
    assert done["conversation_id"] == conversation
    assert done["message"][-1] == {"role": "bot", "message": REPLY}
    assert stored_messages(rig.a, conversation)[-2:] == [
        ("user", "Coffee wakes me up."),
        ("bot", REPLY),
    ]


def test_resuming_a_finished_turn_replays_the_rest_then_done(rig: Rig) -> None:
    conversation = opened(rig.a)
    rig.release()
    with httpx.Client(base_url=rig.a, timeout=HANG_GUARD_S) as client:
        response = start_turn(client, conversation, "Espresso is art.")
        whole = list(events_of(response))
        response.close()
    check_ids(whole)
    assert whole[-1].event == "done"
    for base in (rig.a, rig.b):
        assert replayed(base, conversation, whole[2].id) == whole[3:]
        assert replayed(base, conversation, None) == whole
        with resumed(base, conversation, whole[-1].id) as response:
            assert response.status_code == 204  # it has the whole turn already


def test_a_turn_that_was_not_streamed_has_nothing_to_resume(rig: Rig) -> None:
    conversation = opened(rig.a)
    rig.release()
    plain = httpx.post(
        f"{rig.a}/api/chat",
        json={"conversation_id": conversation, "message": "Plain."},
        headers=AS_A,
    )
    assert plain.status_code == 200
    for base in (rig.a, rig.b):
        nothing = httpx.get(f"{base}/api/conversations/{conversation}/stream", headers=AS_A)
        assert nothing.status_code == 204
        assert nothing.content == b""


def test_another_keys_or_an_unknown_conversation_is_not_found(rig: Rig) -> None:
    conversation = opened(rig.a)
    unknown = "3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"
    for base in (rig.a, rig.b):
        for target, key in ((conversation, AS_B), (unknown, AS_A)):
            for method, path in (("GET", "stream"), ("POST", "cancel")):
                answer = httpx.request(
                    method, f"{base}/api/conversations/{target}/{path}", headers=key
                )
                assert answer.status_code == 404, answer.text
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.json()["code"] == "conversation_not_found"
    bad = httpx.get(
        f"{rig.a}/api/conversations/{conversation}/stream",
        params={"after": "not-an-id"},
        headers=AS_A,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"


@pytest.mark.parametrize("where", ["a", "b"])
def test_cancel_stops_the_turn_stores_nothing_and_frees_the_conversation(
    rig: Rig, where: str
) -> None:
    conversation = opened(rig.a)
    before = stored_messages(rig.a, conversation)
    rig.hold()
    with httpx.Client(base_url=rig.a, timeout=HANG_GUARD_S) as client:
        response = start_turn(client, conversation, "Coffee is life.")
        stream = events_of(response)
        first = [next(stream) for _ in range(HALF)]
        assert rig.model.waiting.wait(HANG_GUARD_S)
        cancel = httpx.post(
            f"{getattr(rig, where)}/api/conversations/{conversation}/cancel", headers=AS_A
        )
        assert cancel.status_code == 204, cancel.text
        if where == "b":
            # Another process: the turn on A learns it from the database at its next write
            # of events or before it stores the reply; the model here writes when let go.
            rig.release()
        rest = list(stream)
        response.close()
    assert [e.event for e in first] == ["token"] * HALF
    if where == "a":
        assert [e.event for e in rest] == ["cancelled"]
        assert rig.model.stopped.is_set()  # the model stopped mid-reply
    else:
        assert [e.event for e in rest] == ["token"] * (len(WORDS) - HALF) + ["cancelled"]
    assert rest[-1].data == {}
    check_ids(first + rest)
    assert stored_messages(rig.a, conversation) == before
    # A client that reconnects gets the same end.
    assert replayed(rig.b, conversation, first[-1].id) == rest
    again = httpx.post(f"{rig.b}/api/conversations/{conversation}/cancel", headers=AS_A)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "no_turn_in_progress"
    rig.release()
    after = httpx.post(
        f"{rig.a}/api/chat",
        json={"conversation_id": conversation, "message": "Fine, tea."},
        headers=AS_A,
    )
    assert after.status_code == 200, after.text
    assert stored_messages(rig.a, conversation) == [
        *before,
        ("user", "Fine, tea."),
        ("bot", REPLY),
    ]


def test_a_cancelled_plain_turn_answers_409_turn_cancelled(rig: Rig) -> None:
    conversation = opened(rig.a)
    rig.hold()
    answers: list[httpx.Response] = []

    def chat() -> None:
        answers.append(
            httpx.post(
                f"{rig.a}/api/chat",
                json={"conversation_id": conversation, "message": "Cancel me."},
                headers=AS_A,
                timeout=HANG_GUARD_S,
            )
        )

    worker = threading.Thread(target=chat)
    worker.start()
    assert rig.model.waiting.wait(HANG_GUARD_S)
    cancel = httpx.post(f"{rig.a}/api/conversations/{conversation}/cancel", headers=AS_A)
    assert cancel.status_code == 204
    worker.join(HANG_GUARD_S)
    assert answers[0].status_code == 409
    assert answers[0].json()["code"] == "turn_cancelled"
    assert rig.model.stopped.is_set()
    assert len(stored_messages(rig.a, conversation)) == 2
    rig.release()


def test_the_new_operations_are_in_openapi(rig: Rig) -> None:
    schema = httpx.get(f"{rig.a}/openapi.json").json()
    resume_op = schema["paths"]["/api/conversations/{conversation_id}/stream"]["get"]
    cancel_op = schema["paths"]["/api/conversations/{conversation_id}/cancel"]["post"]
    assert resume_op["operationId"] == "resume_stream"
    assert cancel_op["operationId"] == "cancel_turn"
    assert {"200", "204", "404", "422"} <= set(resume_op["responses"])
    assert {"204", "404", "409"} <= set(cancel_op["responses"])
    names = {p["name"] for p in resume_op["parameters"]}
    assert {"after", "Last-Event-ID"} <= names


def test_events_go_with_their_conversation_and_after_15_minutes(rig: Rig) -> None:
    def streamed_conversation() -> str:
        conversation = opened(rig.a)
        with httpx.Client(base_url=rig.a, timeout=HANG_GUARD_S) as client:
            response = start_turn(client, conversation, "Milk tea counts.")
            assert list(events_of(response))[-1].event == "done"
            response.close()
        return conversation

    def kept(conversation: str) -> int:
        with engine.connect() as conn:
            where = stream_events.c.conversation_id == conversation
            return int(conn.execute(select(func.count()).where(where)).scalar_one())

    rig.release()
    deleted, aged = streamed_conversation(), streamed_conversation()
    engine = make_engine(rig.database_url)
    try:
        assert kept(deleted) == kept(aged) == len(WORDS) + 1
        gone = httpx.delete(f"{rig.a}/api/conversations/{deleted}", headers=AS_A)
        assert gone.status_code == 204
        assert kept(deleted) == 0
        long_ago = datetime(2000, 1, 1, tzinfo=UTC)
        now = datetime.now(UTC)
        for minutes, left in ((14, len(WORDS) + 1), (16, 0)):
            later = SqlConversationStore(engine, now=lambda m=minutes: now + timedelta(minutes=m))  # type: ignore[misc]
            asyncio.run(later.purge(idle_before=None, keys_before=long_ago))
            assert kept(aged) == left, minutes
    finally:
        engine.dispose()
    with resumed(rig.b, aged, None) as response:
        assert response.status_code == 204  # purged: nothing to resume


def test_a_cancel_from_another_process_stops_a_streaming_turn_at_its_next_write(rig: Rig) -> None:
    """The model goes on writing and is never let go: only the turn's own write of events,
    which finds its hold on the conversation gone, can stop it."""
    conversation = opened(rig.a)
    before = stored_messages(rig.a, conversation)
    rig.hold()
    rig.model.trickle = True
    with httpx.Client(base_url=rig.a, timeout=HANG_GUARD_S) as client:
        response = start_turn(client, conversation, "Coffee, again.")
        stream = events_of(response)
        first = [next(stream) for _ in range(HALF)]
        assert rig.model.waiting.wait(HANG_GUARD_S)
        cancel = httpx.post(f"{rig.b}/api/conversations/{conversation}/cancel", headers=AS_A)
        assert cancel.status_code == 204, cancel.text
        rest = list(stream)
        response.close()
    assert rig.model.stopped.is_set()  # stopped mid-reply, the gate still closed
    assert not rig.model.gate.is_set()
    events = first + rest
    check_ids(events)
    assert events[-1].event == "cancelled"
    assert {e.event for e in events[:-1]} == {"token"}
    assert stored_messages(rig.a, conversation) == before
    rig.release()
