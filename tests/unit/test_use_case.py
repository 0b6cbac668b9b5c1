"""The debate turn with fakes: windows, stance handling, deadline, failures, leases."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from agent.domain import Opening, Role, Stance, TurnResult
from agent.errors import (
    ConfigError,
    ConversationNotFound,
    DatabaseUnavailable,
    DeadlineExceeded,
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
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
    assert stored.conversation.prompt_version == "v3"
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
    policy = TurnPolicy(timeout_s=25.0, commit_reserve_s=1.0)
    turns = DebateTurns(store, responder, policy, monotonic=lambda: clock[0])
    conv = run(turns.take_turn(None, "first")).conversation_id
    # The model gets the deadline less the time kept back for the commit.
    assert responder.calls[0].timeout_s == pytest.approx(24.0)

    original = responder.reply

    async def slow_reply(*args: Any, **kwargs: Any) -> str:
        clock[0] += 30.0  # the model answered, but after the deadline
        return await original(*args, **kwargs)

    responder.reply = slow_reply  # type: ignore[method-assign]
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(conv, "second"))
    assert store.message_count() == 2
    assert store.rows[conv].lease is None


def test_a_late_first_reply_creates_no_conversation() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder()
    turns = DebateTurns(store, responder, TurnPolicy(timeout_s=25.0), monotonic=lambda: clock[0])
    original = responder.open

    async def slow_open(*args: Any, **kwargs: Any) -> Opening:
        clock[0] += 26.0
        return await original(*args, **kwargs)

    responder.open = slow_open  # type: ignore[method-assign]
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(None, "first"))
    assert store.rows == {}


def test_budget_s_replaces_the_configured_timeout() -> None:
    turns, _store, responder = make(TurnPolicy(timeout_s=25.0, commit_reserve_s=1.0))
    run(turns.take_turn(None, "first", budget_s=5.0))
    assert 3.9 < responder.calls[0].timeout_s <= 4.0
    with pytest.raises(DeadlineExceeded):
        run(turns.take_turn(None, "no time at all", budget_s=0.0))


def test_a_budget_replaces_the_configured_deadline() -> None:
    clock = [100.0]
    store, responder = InMemoryStore(), ScriptedResponder()
    policy = TurnPolicy(timeout_s=25.0, commit_reserve_s=1.0)
    turns = DebateTurns(store, responder, policy, monotonic=lambda: clock[0])
    conv = run(turns.take_turn(None, "first", budget_s=7.5)).conversation_id
    run(turns.take_turn(conv, "second", budget_s=3.0))
    run(turns.take_turn(conv, "third"))
    # The model gets the budget less the commit's reserve (1 s, or a fifth of a short budget).
    assert [c.timeout_s for c in responder.calls] == pytest.approx([6.5, 2.4, 24.0])


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


def test_an_upper_case_id_finds_the_conversation() -> None:
    turns, store, _responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    result = run(turns.take_turn(conv.upper(), "second"))
    assert result.conversation_id == conv
    assert store.message_count() == 4
    assert run(turns.transcript(conv.upper())).conversation.id == conv


def test_a_conversation_is_visible_only_to_its_owner() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "mine", owner="alice")).conversation_id
    with pytest.raises(ConversationNotFound):
        run(turns.take_turn(conv, "let me in", owner="mallory"))
    with pytest.raises(ConversationNotFound):
        run(turns.transcript(conv, owner="mallory"))
    with pytest.raises(ConversationNotFound):
        run(turns.delete(conv, owner="mallory"))
    assert len(responder.calls) == 1
    assert store.message_count() == 2
    run(turns.take_turn(conv, "still mine", owner="alice"))
    assert store.message_count() == 4


def test_delete_removes_the_conversation() -> None:
    turns, store, _responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    run(turns.delete(conv))
    assert store.rows == {}
    with pytest.raises(ConversationNotFound):
        run(turns.take_turn(conv, "hello?"))
    with pytest.raises(ConversationNotFound):
        run(turns.delete(conv))


# --- idempotency -------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer_and_stores_nothing() -> None:
    turns, store, responder = make()
    first = run(turns.take_turn(None, "open", idempotency_key="k-open"))
    again = run(turns.take_turn(None, "open", idempotency_key="k-open"))
    assert again.replayed
    assert not first.replayed
    assert (again.conversation_id, again.recent) == (first.conversation_id, first.recent)
    assert len(store.rows) == 1

    conv = first.conversation_id
    second = run(turns.take_turn(conv, "second", idempotency_key="k-2"))
    retried = run(turns.take_turn(conv.upper(), "second", idempotency_key="k-2"))
    assert retried.recent == second.recent
    assert retried.replayed
    assert store.message_count() == 4
    assert len(responder.calls) == 2


def test_retries_that_arrive_together_run_the_turn_once() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.delay_s = 0.2

    async def three_at_once() -> list[Any]:
        return list(
            await asyncio.gather(
                *(turns.take_turn(conv, "same", idempotency_key="dup") for _ in range(3))
            )
        )

    results = run(three_at_once())
    assert len({tuple(r.recent) for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert store.message_count() == 4
    assert len(responder.calls) == 2


def test_a_key_reused_for_another_request_is_refused() -> None:
    turns, store, _responder = make()
    conv = run(turns.take_turn(None, "first", idempotency_key="k")).conversation_id
    other = run(turns.take_turn(None, "other")).conversation_id
    run(turns.take_turn(conv, "second", idempotency_key="k2"))
    with pytest.raises(IdempotencyKeyMismatch, match="different message"):
        run(turns.take_turn(conv, "something else", idempotency_key="k2"))
    with pytest.raises(IdempotencyKeyMismatch, match="another conversation"):
        run(turns.take_turn(other, "second", idempotency_key="k2"))
    with pytest.raises(IdempotencyKeyMismatch, match="another conversation"):
        run(turns.take_turn(conv, "first", idempotency_key="k"))  # was a new conversation
    assert store.message_count() == 6


def test_keys_belong_to_their_api_key() -> None:
    turns, store, _responder = make()
    a = run(turns.take_turn(None, "hello", owner="alice", idempotency_key="same"))
    b = run(turns.take_turn(None, "hello", owner="bob", idempotency_key="same"))
    assert a.conversation_id != b.conversation_id
    assert not b.replayed
    assert len(store.rows) == 2


def test_a_failed_turn_frees_its_key_so_the_retry_runs() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.fail_with = ModelUnavailable("down")
    with pytest.raises(ModelUnavailable):
        run(turns.take_turn(conv, "second", idempotency_key="k"))
    responder.fail_with = None
    result = run(turns.take_turn(conv, "second", idempotency_key="k"))
    assert not result.replayed
    assert store.message_count() == 4


def test_keys_expire_after_a_day() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store, responder = InMemoryStore(now=lambda: now[0]), ScriptedResponder()
    turns = DebateTurns(store, responder, TurnPolicy())
    first = run(turns.take_turn(None, "hello", idempotency_key="k"))
    now[0] += timedelta(hours=23)
    assert run(turns.take_turn(None, "hello", idempotency_key="k")).replayed
    now[0] += timedelta(hours=2)
    later = run(turns.take_turn(None, "hello", idempotency_key="k"))
    assert not later.replayed
    assert later.conversation_id != first.conversation_id


def test_a_duplicate_that_outlasts_its_deadline_is_409_and_stores_nothing() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id
    responder.delay_s = 0.5

    async def both() -> list[object]:
        first = asyncio.create_task(turns.take_turn(conv, "slow", idempotency_key="k"))
        await asyncio.sleep(0.05)
        second = await asyncio.gather(
            turns.take_turn(conv, "slow", idempotency_key="k", budget_s=0.2),
            return_exceptions=True,
        )
        return [await first, *second]

    first, second = run(both())
    assert isinstance(second, IdempotencyKeyInUse)
    assert store.message_count() == 4
    assert isinstance(first, TurnResult)


# --- failures ----------------------------------------------------------------------------


def test_a_database_failure_is_reported_as_such_even_when_clean_up_fails_too() -> None:
    turns, store, responder = make()
    conv = run(turns.take_turn(None, "first")).conversation_id

    def outage() -> None:
        store.down = True

    responder.while_thinking = outage
    with pytest.raises(DatabaseUnavailable):
        run(turns.take_turn(conv, "second", idempotency_key="k"))
    assert store.message_count() == 2


def test_a_configuration_fault_is_not_dressed_up_as_a_retryable_one() -> None:
    turns, store, responder = make()
    responder.fail_with = ConfigError("prompt version v0 is not installed")
    with pytest.raises(ConfigError):
        run(turns.take_turn(None, "first"))
    assert store.rows == {}


def test_transcript_pages_run_backwards_from_the_newest() -> None:
    turns, _store, _responder = make(TurnPolicy(page_limit=4))
    conv = run(turns.take_turn(None, "u1")).conversation_id
    for n in range(2, 6):
        run(turns.take_turn(conv, f"u{n}"))
    pages = []
    cursor = None
    while True:
        page = run(turns.transcript(conv, older_than=cursor))
        pages.append([m.text for m in page.messages])
        if page.older is None:
            break
        cursor = page.older
    assert [len(p) for p in pages] == [4, 4, 2]
    flat = [text for page in reversed(pages) for text in page]
    assert flat[::2] == ["u1", "u2", "u3", "u4", "u5"]
