"""Regenerating the last reply and listing conversations, with fakes: the same turn path,
lease, deadline and Idempotency-Key rules as a turn."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from agent.domain import Conversation, Role, Stance
from agent.errors import (
    ConversationNotFound,
    DeadlineExceeded,
    IdempotencyKeyMismatch,
    ModelUnavailable,
    NothingToRegenerate,
    TurnCapReached,
    TurnInProgress,
)
from agent.use_case import DebateTurns, TurnPolicy
from tests.fakes import InMemoryStore, ScriptedResponder, _Stored

T = TypeVar("T")
TEA = Stance("tea", "Tea beats coffee.")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make(
    policy: TurnPolicy | None = None, stance: Stance | None = TEA
) -> tuple[DebateTurns, InMemoryStore, ScriptedResponder]:
    store, responder = InMemoryStore(), ScriptedResponder(stance)
    return DebateTurns(store, responder, policy or TurnPolicy()), store, responder


def texts(store: InMemoryStore, conv: str) -> list[str]:
    return [m.text for m in store.rows[conv].messages]


def test_the_last_reply_is_replaced_by_a_new_answer_to_the_same_message() -> None:
    turns, store, responder = make(TurnPolicy(context_messages=2, history_limit=3))
    conv = run(turns.take_turn(None, "first")).conversation_id
    run(turns.take_turn(conv, "second"))
    run(turns.take_turn(conv, "third"))
    result = run(turns.regenerate(conv.upper()))
    assert texts(store, conv) == [
        "first", "bot reply 1", "second", "bot reply 2", "third", "bot reply 4",
    ]  # fmt: skip
    assert [m.text for m in result.recent] == ["bot reply 2", "third", "bot reply 4"]
    assert result.recent[-1].role is Role.BOT
    assert result.conversation_id == conv
    call = responder.calls[-1]
    # The same question as the turn it redoes: the stance, the message, the context before it.
    assert (call.kind, call.stance, call.message) == ("reply", TEA, "third")
    assert [m.text for m in call.history] == ["second", "bot reply 2"]
    assert call.history == responder.calls[2].history
    assert store.rows[conv].conversation.stance == TEA
    assert store.rows[conv].lease is None


def test_a_first_reply_is_regenerated_against_the_stance_it_fixed() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "Topic: tea.")).conversation_id
    run(turns.regenerate(conv))
    assert texts(store, conv) == ["Topic: tea.", "bot reply 2"]
    assert (responder.calls[-1].kind, responder.calls[-1].history) == ("reply", [])
    assert store.rows[conv].conversation.stance == TEA


def test_while_no_side_is_fixed_the_message_is_read_again_for_one() -> None:
    turns, store, responder = make(stance=None)
    conv = run(turns.take_turn(None, "hi")).conversation_id
    responder.stance = TEA
    run(turns.regenerate(conv))
    assert responder.calls[-1].kind == "open"
    assert store.rows[conv].conversation.stance == TEA
    assert texts(store, conv) == ["hi", "bot reply 2"]


def test_a_failed_or_late_regeneration_keeps_the_old_reply_and_frees_the_conversation() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder(TEA)
    turns = DebateTurns(store, responder, TurnPolicy(timeout_s=25.0), monotonic=lambda: clock[0])
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.fail_with = ModelUnavailable("down")
    with pytest.raises(ModelUnavailable):
        run(turns.regenerate(conv))
    responder.fail_with = None

    def think_too_long() -> None:
        clock[0] += 30.0  # the model answers, but after the deadline

    responder.while_thinking = think_too_long
    with pytest.raises(DeadlineExceeded):
        run(turns.regenerate(conv))
    assert texts(store, conv) == ["first", "bot reply 1"]
    assert store.rows[conv].lease is None


def test_regeneration_is_refused_while_a_turn_runs() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.delay_s = 0.05

    async def both() -> list[object]:
        return await asyncio.gather(  # type: ignore[return-value]
            turns.take_turn(conv, "second"), turns.regenerate(conv), return_exceptions=True
        )

    outcomes = run(both())
    assert isinstance(outcomes[1], TurnInProgress), outcomes
    assert texts(store, conv) == ["first", "bot reply 1", "second", "bot reply 2"]


def test_another_keys_or_an_unknown_conversation_is_not_found() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first", owner="a" * 64)).conversation_id
    with pytest.raises(ConversationNotFound):
        run(turns.regenerate(conv, owner="b" * 64))
    with pytest.raises(ConversationNotFound):
        run(turns.regenerate("3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"))
    assert len(responder.calls) == 1
    assert store.rows[conv].lease is None


def test_a_conversation_without_a_bot_reply_has_nothing_to_regenerate() -> None:
    turns, store, responder = make()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    empty = Conversation("3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21", TEA, "v3", at)
    store.rows[empty.id] = _Stored(empty, [], updated_at=at)
    with pytest.raises(NothingToRegenerate):
        run(turns.regenerate(empty.id))
    assert responder.calls == []
    assert store.rows[empty.id].lease is None


def test_a_regeneration_is_not_a_turn_of_the_cap() -> None:
    turns, store, _responder = make(TurnPolicy(max_turns=2))
    conv = run(turns.take_turn(None, "1")).conversation_id
    run(turns.take_turn(conv, "2"))
    run(turns.regenerate(conv))
    with pytest.raises(TurnCapReached):
        run(turns.take_turn(conv, "3"))
    assert len(store.rows[conv].messages) == 4


def test_a_retried_regeneration_replays_its_answer_and_asks_the_model_once() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    first = run(turns.regenerate(conv, idempotency_key="again-1"))
    retry = run(turns.regenerate(conv.upper(), idempotency_key="again-1"))
    assert retry.replayed
    assert not first.replayed
    assert retry.recent == first.recent
    assert len(responder.calls) == 2
    assert texts(store, conv) == ["first", "bot reply 2"]
    # A key used for a regeneration cannot be reused for a message, or the other way round.
    with pytest.raises(IdempotencyKeyMismatch, match="another kind of request"):
        run(turns.take_turn(conv, "more", idempotency_key="again-1"))
    run(turns.take_turn(conv, "more", idempotency_key="msg-1"))
    with pytest.raises(IdempotencyKeyMismatch, match="another kind of request"):
        run(turns.regenerate(conv, idempotency_key="msg-1"))
    other = run(turns.take_turn(None, "other")).conversation_id
    with pytest.raises(IdempotencyKeyMismatch, match="another conversation"):
        run(turns.regenerate(other, idempotency_key="again-1"))


def test_a_failed_regeneration_frees_its_key_so_the_retry_runs() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.fail_with = ModelUnavailable("down")
    with pytest.raises(ModelUnavailable):
        run(turns.regenerate(conv, idempotency_key="k"))
    responder.fail_with = None
    result = run(turns.regenerate(conv, idempotency_key="k"))
    assert not result.replayed
    assert texts(store, conv) == ["first", "bot reply 3"]


def test_the_list_is_the_owners_newest_first_and_a_blank_query_is_no_filter() -> None:
    ticks = iter(range(1000))

    def tick() -> datetime:  # every write a second later than the one before
        return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=next(ticks))

    store = InMemoryStore(now=tick)
    turns = DebateTurns(store, ScriptedResponder(TEA), TurnPolicy(), now=tick)
    owner = "a" * 64
    older = run(turns.take_turn(None, "one", owner=owner)).conversation_id
    newer = run(turns.take_turn(None, "two", owner=owner)).conversation_id
    run(turns.take_turn(None, "keyless"))
    run(turns.take_turn(older, "again", owner=owner))
    found = run(turns.conversations(owner=owner, query="  "))
    assert [c.conversation.id for c in found.conversations] == [older, newer]
    assert [c.turns for c in found.conversations] == [2, 1]
    page = run(turns.conversations(owner=owner, limit=1))
    assert [c.conversation.id for c in page.conversations] == [older]
    assert page.next is not None
    rest = run(turns.conversations(owner=owner, limit=1, after=page.next))
    assert [c.conversation.id for c in rest.conversations] == [newer]
    assert run(turns.conversations(owner=owner, query="TEA")).conversations != []
    assert run(turns.conversations(owner=owner, query="coffee!")).conversations == []
