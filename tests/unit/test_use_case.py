"""The debate turn with fakes: windows, stance handling, deadline, failures, leases."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from agent.domain import Role, Stance
from agent.errors import (
    ConversationNotFound,
    DeadlineExceeded,
    ModelUnavailable,
    TurnCapReached,
    TurnInProgress,
)
from agent.use_case import DebateTurns, TurnPolicy
from tests.fakes import InMemoryStore, ScriptedResponder

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make(
    policy: TurnPolicy | None = None, stance: Stance | None = Stance("tea", "Tea beats coffee.")
) -> tuple[DebateTurns, InMemoryStore, ScriptedResponder]:
    store, responder = InMemoryStore(), ScriptedResponder(stance)
    return DebateTurns(store, responder, policy or TurnPolicy()), store, responder


def test_first_turn_creates_conversation_with_stance_and_returns_both_messages() -> None:
    turns, store, responder = make()
    result = run(turns.take_turn(None, "Topic: tea. You argue that tea beats coffee."))
    assert [(m.role, m.text) for m in result.recent] == [
        (Role.USER, "Topic: tea. You argue that tea beats coffee."),
        (Role.BOT, "bot reply 1"),
    ]
    stored = store.rows[result.conversation_id]
    assert stored.conversation.stance == Stance("tea", "Tea beats coffee.")
    assert stored.conversation.prompt_version == "v2"
    assert [c.kind for c in responder.calls] == ["open"]


def test_later_turns_return_the_five_most_recent_oldest_first_bot_last() -> None:
    turns, _store, _responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    for n in range(2, 8):
        result = run(turns.take_turn(conv, f"user {n}"))
    texts = [m.text for m in result.recent]
    assert texts == ["bot reply 5", "user 6", "bot reply 6", "user 7", "bot reply 7"]
    assert [m.role for m in result.recent] == [Role.BOT, Role.USER, Role.BOT, Role.USER, Role.BOT]


def test_every_later_turn_argues_the_stored_stance_with_a_bounded_context() -> None:
    turns, store, responder = make(TurnPolicy(context_messages=4, history_limit=5))
    conv = run(turns.take_turn(None, "first")).conversation_id
    for n in range(10):
        run(turns.take_turn(conv, f"user {n}"))
    replies = [c for c in responder.calls if c.kind == "reply"]
    assert len(replies) == 10
    assert {c.stance for c in replies} == {Stance("tea", "Tea beats coffee.")}
    assert all(len(c.history) <= 4 for c in replies)
    assert replies[-1].history[-1].text == "bot reply 10"
    # One read per turn, sized for the larger of the two windows, never the whole history.
    assert store.window_reads == [5] * 10


def test_a_message_with_nothing_to_debate_fixes_no_side_and_the_next_one_can() -> None:
    turns, store, responder = make(stance=None)
    conv = run(turns.take_turn(None, "hi")).conversation_id
    assert store.rows[conv].conversation.stance is None
    responder.stance = Stance("cats", "Cats are better than dogs.")
    run(turns.take_turn(conv, "cats vs dogs"))
    assert [c.kind for c in responder.calls] == ["open", "open"]
    assert store.rows[conv].conversation.stance == Stance("cats", "Cats are better than dogs.")
    # Fixed once: a later opening-like message does not move it.
    run(turns.take_turn(conv, "Actually, argue that dogs are better"))
    assert responder.calls[-1].kind == "reply"
    assert store.rows[conv].conversation.stance == Stance("cats", "Cats are better than dogs.")


def test_unknown_conversation_is_not_found_and_nothing_is_created() -> None:
    turns, store, responder = make()
    with pytest.raises(ConversationNotFound):
        run(turns.take_turn("8b1f0c1e-2a4b-4c8d-9e0f-1a2b3c4d5e6f", "hello?"))
    assert store.rows == {}
    assert responder.calls == []


def test_a_failed_model_call_stores_nothing_and_frees_the_conversation() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.fail_with = ModelUnavailable("down")
    with pytest.raises(ModelUnavailable):
        run(turns.take_turn(conv, "second"))
    assert store.message_count() == 2
    assert store.rows[conv].lease is None
    responder.fail_with = None
    assert [m.text for m in run(turns.take_turn(conv, "retry")).recent][-2:] == [
        "retry",
        "bot reply 3",
    ]


def test_a_failed_first_turn_creates_no_conversation() -> None:
    turns, store, responder = make()
    responder.fail_with = ModelUnavailable("down")
    with pytest.raises(ModelUnavailable):
        run(turns.take_turn(None, "first"))
    assert store.rows == {}


def test_one_deadline_covers_the_turn_and_a_late_reply_is_not_stored() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder()
    turns = DebateTurns(store, responder, TurnPolicy(timeout_s=25.0), monotonic=lambda: clock[0])
    conv = run(turns.take_turn(None, "first")).conversation_id
    assert responder.calls[0].timeout_s == pytest.approx(25.0)

    original = responder.reply

    async def slow_reply(*args: Any, **kwargs: Any) -> str:
        clock[0] += 30.0  # the model answered, but after the deadline
        return await original(*args, **kwargs)

    responder.reply = slow_reply  # type: ignore[method-assign]
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(conv, "second"))
    assert store.message_count() == 2
    assert store.rows[conv].lease is None


def test_a_budget_replaces_the_configured_deadline() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder()
    turns = DebateTurns(store, responder, TurnPolicy(timeout_s=25.0), monotonic=lambda: clock[0])
    conv = run(turns.take_turn(None, "first", budget_s=7.5)).conversation_id
    run(turns.take_turn(conv, "second", budget_s=3.0))
    run(turns.take_turn(conv, "third"))
    assert [c.timeout_s for c in responder.calls] == pytest.approx([7.5, 3.0, 25.0])


def test_a_spent_budget_stores_nothing_first_turn_or_later() -> None:
    turns, store, responder = make()
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(None, "first", budget_s=0.0))
    assert store.rows == {}
    assert responder.calls == []
    conv = run(turns.take_turn(None, "first")).conversation_id
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(conv, "second", budget_s=-1.0))
    assert store.message_count() == 2
    assert store.rows[conv].lease is None


def test_a_first_reply_after_the_budget_creates_no_conversation() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder()
    turns = DebateTurns(store, responder, TurnPolicy(timeout_s=25.0), monotonic=lambda: clock[0])
    original = responder.open

    async def slow_open(*args: Any, **kwargs: Any) -> Any:
        clock[0] += 5.0  # within the configured 25 s, but past this request's 4 s
        return await original(*args, **kwargs)

    responder.open = slow_open  # type: ignore[method-assign]
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(None, "first", budget_s=4.0))
    assert store.rows == {}


def test_a_second_turn_while_one_is_in_progress_is_refused() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.delay_s = 0.05

    async def both() -> list[object]:
        return await asyncio.gather(  # type: ignore[return-value]
            turns.take_turn(conv, "a"), turns.take_turn(conv, "b"), return_exceptions=True
        )

    outcomes = run(both())
    assert sum(isinstance(o, TurnInProgress) for o in outcomes) == 1
    assert store.message_count() == 4


def test_turn_cap_refuses_further_turns_without_calling_the_model() -> None:
    turns, store, responder = make(TurnPolicy(max_turns=3))
    conv = run(turns.take_turn(None, "1")).conversation_id
    run(turns.take_turn(conv, "2"))
    run(turns.take_turn(conv, "3"))
    calls = len(responder.calls)
    with pytest.raises(TurnCapReached):
        run(turns.take_turn(conv, "4"))
    assert len(responder.calls) == calls
    assert store.rows[conv].lease is None


def test_user_text_is_kept_exactly_as_sent() -> None:
    turns, store, _responder = make()
    text = "  Ünïcode 😀 — 日本語のテキスト\n\twith spacing  "
    result = run(turns.take_turn(None, text))
    assert result.recent[0].text == text
    assert store.rows[result.conversation_id].messages[0].text == text
