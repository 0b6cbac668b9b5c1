"""Plays the scripted debates through the service's HTTP API, one turn at a time, and reads the
conversation's stance after each turn."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent.adapters.judge import Verdict
from evals.scorers import Checks
from evals.suite import Dialogue


@dataclass
class TurnRecord:
    index: int
    user: str
    status: int  # HTTP status; 0 when no answer came at all
    reply: str | None
    latency_s: float
    code: str | None = None  # the problem's code when the turn failed
    topic: str | None = None  # the conversation's stance after this turn
    thesis: str | None = None
    checks: Checks | None = None
    verdict: Verdict | None = None
    judge_error: str | None = None

    @property
    def answered(self) -> bool:
        return self.status == 200 and self.reply is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "user": self.user,
            "status": self.status,
            "code": self.code,
            "reply": self.reply,
            "latency_s": round(self.latency_s, 3),
            "topic": self.topic,
            "thesis": self.thesis,
            "checks": self.checks.as_dict() if self.checks else None,
            "judge": self.verdict.model_dump() if self.verdict else None,
            "judge_error": self.judge_error,
        }


@dataclass
class DialogueRecord:
    dialogue: Dialogue
    conversation_id: str | None = None
    prompt_version: str | None = None
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def aborted(self) -> bool:
        """The first turn failed, so there was no conversation to continue."""
        return len(self.turns) < len(self.dialogue.turns)


def play(
    client: httpx.Client,
    dialogue: Dialogue,
    on_turn: Callable[[TurnRecord], None] = lambda _: None,
) -> DialogueRecord:
    record = DialogueRecord(dialogue)
    for index, text in enumerate(dialogue.turns):
        started = time.perf_counter()
        try:
            response = client.post(
                "/api/chat", json={"conversation_id": record.conversation_id, "message": text}
            )
        except httpx.HTTPError as exc:
            turn = TurnRecord(
                index, text, 0, None, time.perf_counter() - started, type(exc).__name__
            )
        else:
            elapsed = time.perf_counter() - started
            if response.status_code == 200:
                body = response.json()
                record.conversation_id = body["conversation_id"]
                turn = TurnRecord(index, text, 200, body["message"][-1]["message"], elapsed)
            else:
                code = _problem_code(response)
                turn = TurnRecord(index, text, response.status_code, None, elapsed, code)
        if record.conversation_id is not None:
            view = client.get(f"/api/conversations/{record.conversation_id}").json()
            turn.topic, turn.thesis = view["topic"], view["thesis"]
            record.prompt_version = view["prompt_version"]
        record.turns.append(turn)
        on_turn(turn)
        if record.conversation_id is None:
            break  # the opening failed: nothing to continue
    return record


def _problem_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", response.status_code))
    except ValueError:
        return str(response.status_code)
