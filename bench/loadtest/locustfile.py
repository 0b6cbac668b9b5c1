"""What the load run's users do (locust). Run by `python -m bench.loadtest`, not on its own.

Each user keeps a conversation of its own and starts a new one every 20 turns (many
conversations); a fifth of its turns go to one of three shared "hot" conversations, so two users
often hit the same one at once and one of them gets 409; some requests read the transcript, some
are retried with the same Idempotency-Key. No think time: 32 users keep 32 requests in flight.

Every response is counted by status (409 and 429 are expected answers, not failures); the counts
and latencies go to the JSON file named by KOPICHAT_LOAD_RESULT when the run ends.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

HOT_CONVERSATIONS = 3
TURNS_PER_CONVERSATION = 20
EXPECTED = {200, 409, 429}

hot: list[str] = []
statuses: Counter[str] = Counter()
latencies_ms: dict[str, list[float]] = defaultdict(list)


def _make_hot_conversations(environment: Environment, **_: Any) -> None:
    for n in range(HOT_CONVERSATIONS):
        response = httpx.post(
            f"{environment.host}/api/chat",
            json={"message": f"Topic: hot topic {n}. You argue that it is hot."},
            timeout=30,
        )
        response.raise_for_status()
        hot.append(response.json()["conversation_id"])


def _count(
    name: str, response_time: float, response: Any = None, exception: Any = None, **_: Any
) -> None:
    status = getattr(response, "status_code", 0) if exception is None or response else 0
    statuses[str(status or "connection error")] += 1
    if status in EXPECTED:
        latencies_ms[f"{name} {status}"].append(response_time)


def _write_result(environment: Environment, **_: Any) -> None:
    path = os.environ.get("KOPICHAT_LOAD_RESULT")
    if not path:
        return
    total = environment.stats.total
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "statuses": dict(statuses),
                "latencies_ms": latencies_ms,
                "duration_s": total.last_request_timestamp - total.start_time
                if total.last_request_timestamp
                else 0.0,
            },
            out,
        )


class Debater(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.conversation: str | None = None
        self.turns = 0
        self._new_conversation()

    def _post(self, name: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        with self.client.post(
            "/api/chat", json=body, headers=headers or {}, name=name, catch_response=True
        ) as response:
            if response.status_code in EXPECTED:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
            return response

    def _new_conversation(self) -> None:
        response = self._post("chat: new conversation", {"message": "Cats are better than dogs"})
        if response.status_code == 200:
            self.conversation = response.json()["conversation_id"]
            self.turns = 1

    @task(14)
    def own_turn(self) -> None:
        if self.conversation is None or self.turns >= TURNS_PER_CONVERSATION:
            self._new_conversation()
            return
        body = {"conversation_id": self.conversation, "message": f"point {self.turns}"}
        if self._post("chat: own conversation", body).status_code == 200:
            self.turns += 1

    @task(4)
    def hot_turn(self) -> None:
        body = {"conversation_id": random.choice(hot), "message": "me too, at the same time"}
        self._post("chat: hot conversation (409s)", body)

    @task(1)
    def retried_turn(self) -> None:
        if self.conversation is None:
            return
        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"conversation_id": self.conversation, "message": "did this arrive?"}
        self._post("chat: with Idempotency-Key", body, key)
        self._post("chat: retry, same key", body, key)
        self.turns += 1

    @task(1)
    def read_transcript(self) -> None:
        if self.conversation is None:
            return
        with self.client.get(
            f"/api/conversations/{self.conversation}",
            name="transcript",
            catch_response=True,
        ) as response:
            if response.status_code in EXPECTED:
                response.success()
            else:
                response.failure(f"status {response.status_code}")


# Registered by call: locust's decorator and add_listener are untyped.
events.test_start.add_listener(_make_hot_conversations)  # type: ignore[no-untyped-call]
events.request.add_listener(_count)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_result)  # type: ignore[no-untyped-call]
