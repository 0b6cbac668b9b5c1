"""One contract, three stores: the in-memory fake, the SQL store on SQLite, and the SQL store on
MariaDB/MySQL over a real connection. Every test here runs against all three, so the fake the
unit tests rely on cannot drift from the real thing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete

from agent.adapters.sql.engine import create_schema_if_sqlite, make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.tables import conversations, idempotency_keys, messages
from agent.domain import (
    Conversation,
    ConversationList,
    ListPosition,
    Message,
    Role,
    Stance,
    TurnResult,
)
from agent.errors import ConversationNotFound, IdempotencyKeyInUse, TurnInProgress
from agent.ports import Claimed, ConversationStore, IdempotentRequest, Receipt, SeenBefore
from tests.fakes import InMemoryStore

T = TypeVar("T")
TEXTS = ["plain", "emoji 😀🎉", "日本語のテキスト", "  spaced\n\ttabs  ", "ñandú — «quotes»", "𝔘𝔫𝔦"]
LEASE_S = 30.0
TTL_S = 24 * 3600.0
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class Clock:
    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Subject:
    store: ConversationStore
    clock: Clock


@pytest.fixture(params=["memory", "sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    clock = Clock()
    if request.param == "memory":
        yield Subject(InMemoryStore(now=clock), clock)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("migrated_mysql_url")
    engine = make_engine(url)
    create_schema_if_sqlite(engine)
    yield Subject(SqlConversationStore(engine, now=clock), clock)
    with engine.begin() as conn:
        conn.execute(delete(idempotency_keys))
        conn.execute(delete(messages))
        conn.execute(delete(conversations))
    engine.dispose()


def u(text: str) -> Message:
    return Message(Role.USER, text)


def b(text: str) -> Message:
    return Message(Role.BOT, text)


def conversation(
    clock: Clock, stance: Stance | None = Stance("tea", "Tea wins."), owner: str | None = None
) -> Conversation:
    return Conversation(str(uuid.uuid4()), stance, "v1", clock(), owner)


async def create(
    s: Subject, turns: int = 1, *, owner: str | None = None, stance: Stance | None = None
) -> Conversation:
    conv = conversation(s.clock, stance or Stance("tea", "Tea wins."), owner)
    await s.store.create_conversation(conv, u("u1"), b("b1"), receipt=None, timeout_s=5)
    for n in range(2, turns + 1):
        await commit_turn(s, conv.id, f"u{n}", f"b{n}", owner=owner)
    return conv


async def commit_turn(
    s: Subject,
    cid: str,
    user_text: str,
    bot_text: str,
    *,
    owner: str | None = None,
    stance: Stance | None = None,
    receipt: Receipt | None = None,
) -> None:
    async with s.store.turn(cid, owner=owner, window=5, lease_s=LEASE_S, timeout_s=5) as turn:
        await turn.commit(u(user_text), b(bot_text), stance, receipt=receipt, timeout_s=5)


async def texts(s: Subject, cid: str, owner: str | None = None) -> list[str]:
    page = await s.store.transcript_page(
        cid, owner=owner, limit=200, max_chars=10**6, older_than=None, timeout_s=5
    )
    return [m.text for m in page.messages]


# --- turns -------------------------------------------------------------------------------


def test_a_turn_sees_the_newest_messages_oldest_first(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject, 6)
        async with subject.store.turn(
            conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
        ) as turn:
            assert [m.text for m in turn.recent] == ["b4", "u5", "b5", "u6", "b6"]
            assert turn.turns_taken == 6
            assert turn.conversation.stance == Stance("tea", "Tea wins.")
            assert turn.conversation.created_at.tzinfo is not None

    run(scenario())


def test_text_round_trips_byte_exact(subject: Subject) -> None:
    async def scenario() -> list[str]:
        conv = conversation(subject.clock)
        await subject.store.create_conversation(
            conv, u(TEXTS[0]), b(TEXTS[1]), receipt=None, timeout_s=5
        )
        for a, c in zip(TEXTS[2::2], TEXTS[3::2], strict=True):
            await commit_turn(subject, conv.id, a, c)
        return await texts(subject, conv.id)

    assert run(scenario()) == TEXTS


def test_an_unknown_conversation_is_not_found_everywhere(subject: Subject) -> None:
    unknown = str(uuid.uuid4())

    async def scenario() -> None:
        with pytest.raises(ConversationNotFound):
            async with subject.store.turn(
                unknown, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
            ):
                pass
        with pytest.raises(ConversationNotFound):
            await texts(subject, unknown)
        with pytest.raises(ConversationNotFound):
            await subject.store.delete_conversation(unknown, owner=None, timeout_s=5)

    run(scenario())


def test_a_held_conversation_refuses_a_second_turn_until_the_first_ends(
    subject: Subject,
) -> None:
    async def scenario() -> None:
        conv = await create(subject)
        async with subject.store.turn(conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5):
            with pytest.raises(TurnInProgress):
                await commit_turn(subject, conv.id, "x", "y")
        # The block ended without a commit: the hold is given back, nothing was stored.
        await commit_turn(subject, conv.id, "u2", "b2")
        assert await texts(subject, conv.id) == ["u1", "b1", "u2", "b2"]

    run(scenario())


def test_an_error_inside_the_block_frees_the_conversation_and_keeps_its_type(
    subject: Subject,
) -> None:
    class Boom(Exception):
        pass

    async def scenario() -> None:
        conv = await create(subject)
        with pytest.raises(Boom):
            async with subject.store.turn(
                conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
            ):
                raise Boom
        await commit_turn(subject, conv.id, "u2", "b2")
        assert len(await texts(subject, conv.id)) == 4

    run(scenario())


def test_an_expired_hold_can_be_taken_and_the_late_turn_cannot_commit(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject)
        async with subject.store.turn(
            conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
        ) as stale:
            subject.clock.advance(seconds=LEASE_S + 1)
            await commit_turn(subject, conv.id, "u2", "b2")
            with pytest.raises(TurnInProgress):
                await stale.commit(u("late"), b("x"), None, receipt=None, timeout_s=5)
        assert await texts(subject, conv.id) == ["u1", "b1", "u2", "b2"]

    run(scenario())


def test_the_stance_is_set_once(subject: Subject) -> None:
    async def scenario() -> None:
        conv = conversation(subject.clock, stance=None)
        await subject.store.create_conversation(
            conv, u("hi"), b("topic?"), receipt=None, timeout_s=5
        )
        async with subject.store.turn(
            conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
        ) as turn:
            assert turn.conversation.stance is None
            await turn.commit(u("tea"), b("b"), Stance("tea", "Tea."), receipt=None, timeout_s=5)
        await commit_turn(subject, conv.id, "u", "b", stance=Stance("x", "Other."))
        page = await subject.store.transcript_page(
            conv.id, owner=None, limit=10, max_chars=10**6, older_than=None, timeout_s=5
        )
        assert page.conversation.stance == Stance("tea", "Tea.")

    run(scenario())


def test_a_turn_on_a_conversation_deleted_meanwhile_stores_nothing(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject)
        async with subject.store.turn(
            conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
        ) as turn:
            await subject.store.delete_conversation(conv.id, owner=None, timeout_s=5)
            with pytest.raises(ConversationNotFound):
                await turn.commit(u("u2"), b("b2"), None, receipt=None, timeout_s=5)
        with pytest.raises(ConversationNotFound):
            await texts(subject, conv.id)

    run(scenario())


# --- owners, pages, deletion -------------------------------------------------------------


def test_only_the_owner_sees_its_conversation(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject, owner="a" * 64)
        other = "b" * 64
        with pytest.raises(ConversationNotFound):
            await commit_turn(subject, conv.id, "x", "y", owner=other)
        with pytest.raises(ConversationNotFound):
            await texts(subject, conv.id, owner=other)
        with pytest.raises(ConversationNotFound):
            await subject.store.delete_conversation(conv.id, owner=other, timeout_s=5)
        # The refused turn took no hold: the owner goes on at once.
        await commit_turn(subject, conv.id, "u2", "b2", owner="a" * 64)
        assert len(await texts(subject, conv.id, owner="a" * 64)) == 4
        assert len(await texts(subject, conv.id, owner=None)) == 4  # keys off: no owners

    run(scenario())


def test_pages_run_backwards_and_respect_limit_and_size(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject, 5)  # ten messages, seq 1..10
        store = subject.store
        first = await store.transcript_page(
            conv.id, owner=None, limit=4, max_chars=10**6, older_than=None, timeout_s=5
        )
        assert [m.text for m in first.messages] == ["u4", "b4", "u5", "b5"]
        assert first.older is not None
        second = await store.transcript_page(
            conv.id, owner=None, limit=4, max_chars=10**6, older_than=first.older, timeout_s=5
        )
        assert [m.text for m in second.messages] == ["u2", "b2", "u3", "b3"]
        last = await store.transcript_page(
            conv.id, owner=None, limit=4, max_chars=10**6, older_than=second.older, timeout_s=5
        )
        assert [m.text for m in last.messages] == ["u1", "b1"]
        assert last.older is None
        # The size cap cuts a page short, but never to nothing.
        small = await store.transcript_page(
            conv.id, owner=None, limit=10, max_chars=5, older_than=None, timeout_s=5
        )
        assert [m.text for m in small.messages] == ["u5", "b5"]
        tiny = await store.transcript_page(
            conv.id, owner=None, limit=10, max_chars=1, older_than=None, timeout_s=5
        )
        assert [m.text for m in tiny.messages] == ["b5"]
        assert tiny.older is not None

    run(scenario())


def test_delete_removes_the_conversation_its_messages_and_its_keys(subject: Subject) -> None:
    async def scenario() -> None:
        conv = await create(subject, 3)
        request = IdempotentRequest("k" * 64, conv.id, "m" * 64)
        claim = await subject.store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(claim, Claimed)
        result = TurnResult(conv.id, [u("secret text"), b("reply")])
        await commit_turn(subject, conv.id, "secret text", "reply", receipt=Receipt(claim, result))
        await subject.store.delete_conversation(conv.id, owner=None, timeout_s=5)
        with pytest.raises(ConversationNotFound):
            await texts(subject, conv.id)
        # The stored answer held the conversation's text: it went with it.
        again = await subject.store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(again, Claimed)

    run(scenario())


# --- idempotency records -----------------------------------------------------------------


def test_a_key_is_claimed_once_then_replays_its_answer(subject: Subject) -> None:
    async def scenario() -> None:
        store = subject.store
        request = IdempotentRequest("1" * 64, "", "2" * 64)
        claim = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(claim, Claimed)
        pending = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert pending == SeenBefore("", "2" * 64, None)

        conv = conversation(subject.clock)
        result = TurnResult(conv.id, [u("hello 😀"), b("reply")])
        await store.create_conversation(
            conv, u("hello 😀"), b("reply"), receipt=Receipt(claim, result), timeout_s=5
        )
        done = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert done == SeenBefore("", "2" * 64, result)

    run(scenario())


def test_a_released_or_abandoned_claim_can_be_taken_again(subject: Subject) -> None:
    async def scenario() -> None:
        store = subject.store
        request = IdempotentRequest("3" * 64, "", "4" * 64)
        claim = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(claim, Claimed)
        await store.release_key(claim, timeout_s=5)
        again = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(again, Claimed)
        # Its holder crashed: once the claim's lease ran out, another request takes it.
        subject.clock.advance(seconds=LEASE_S + 1)
        taken = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(taken, Claimed)
        assert taken.token != again.token
        # ...and the crashed holder can no longer complete it.
        conv = conversation(subject.clock)
        with pytest.raises(IdempotencyKeyInUse):
            await store.create_conversation(
                conv,
                u("x"),
                b("y"),
                receipt=Receipt(again, TurnResult(conv.id, [])),
                timeout_s=5,
            )
        with pytest.raises(ConversationNotFound):
            await texts(subject, conv.id)  # nothing of that turn was stored

    run(scenario())


def test_a_completed_key_expires_after_its_ttl(subject: Subject) -> None:
    async def scenario() -> None:
        store = subject.store
        conv = await create(subject)
        request = IdempotentRequest("5" * 64, conv.id, "6" * 64)
        claim = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(claim, Claimed)
        result = TurnResult(conv.id, [u("u2"), b("b2")])
        await commit_turn(subject, conv.id, "u2", "b2", receipt=Receipt(claim, result))
        subject.clock.advance(hours=23)
        seen = await store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(seen, SeenBefore)
        assert seen.result == result
        subject.clock.advance(hours=2)
        renewed = await store.claim_key(
            IdempotentRequest("5" * 64, conv.id, "7" * 64),
            lease_s=LEASE_S,
            ttl_s=TTL_S,
            timeout_s=5,
        )
        assert isinstance(renewed, Claimed)

    run(scenario())


# --- housekeeping ------------------------------------------------------------------------


def test_purge_deletes_idle_conversations_and_old_keys_only(subject: Subject) -> None:
    async def scenario() -> None:
        store = subject.store
        old = await create(subject, 2)
        old_key = await store.claim_key(
            IdempotentRequest("8" * 64, "", "9" * 64), lease_s=1, ttl_s=TTL_S, timeout_s=5
        )
        subject.clock.advance(days=40)
        fresh = await create(subject, 2)
        fresh_key = await store.claim_key(
            IdempotentRequest("a" * 64, "", "b" * 64), lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5
        )
        assert isinstance(old_key, Claimed)
        assert isinstance(fresh_key, Claimed)
        report = await store.purge(
            idle_before=subject.clock() - timedelta(days=30),
            keys_before=subject.clock() - timedelta(hours=24),
        )
        assert (report.conversations, report.idempotency_keys) == (1, 1)
        with pytest.raises(ConversationNotFound):
            await texts(subject, old.id)
        assert len(await texts(subject, fresh.id)) == 4
        still = await store.claim_key(
            IdempotentRequest("a" * 64, "", "b" * 64), lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5
        )
        assert isinstance(still, SeenBefore)
        # Without a retention setting no conversation is deleted for its age.
        subject.clock.advance(days=400)
        kept = await store.purge(idle_before=None, keys_before=subject.clock())
        assert kept.conversations == 0
        assert len(await texts(subject, fresh.id)) == 4

    run(scenario())


def test_ping(subject: Subject) -> None:
    run(subject.store.ping())


# --- the conversation list ---------------------------------------------------------------


def some_owner() -> str:
    return uuid.uuid4().hex * 2  # 64 characters, like an API key's hash


async def listed(
    s: Subject,
    owner: str | None,
    *,
    limit: int = 100,
    after: ListPosition | None = None,
    query: str | None = None,
) -> ConversationList:
    return await s.store.list_conversations(
        owner=owner, limit=limit, after=after, query=query, timeout_s=5
    )


def ids(found: ConversationList) -> list[str]:
    return [item.conversation.id for item in found.conversations]


def test_the_list_is_one_owners_newest_activity_first_page_by_page(subject: Subject) -> None:
    async def scenario() -> None:
        owner = some_owner()
        first = await create(subject, owner=owner)
        subject.clock.advance(seconds=1)
        second = await create(subject, 3, owner=owner)
        subject.clock.advance(seconds=1)
        third = await create(subject, owner=owner)
        await create(subject, owner=some_owner())  # another key's
        subject.clock.advance(seconds=1)
        await commit_turn(subject, first.id, "u2", "b2", owner=owner)  # now the most recent

        everything = await listed(subject, owner)
        assert ids(everything) == [first.id, third.id, second.id]
        assert everything.next is None
        summary = everything.conversations[2]
        assert summary.turns == 3
        assert summary.conversation.stance == Stance("tea", "Tea wins.")
        assert summary.conversation.owner == owner
        assert summary.updated_at == subject.clock() - timedelta(seconds=2)
        assert summary.updated_at.tzinfo is not None
        assert everything.conversations[0].turns == 2

        page = await listed(subject, owner, limit=2)
        assert ids(page) == [first.id, third.id]
        assert page.next is not None
        rest = await listed(subject, owner, limit=2, after=page.next)
        assert ids(rest) == [second.id]
        assert rest.next is None
        exact = await listed(subject, owner, limit=3)
        assert exact.next is None  # no empty last page

    run(scenario())


def test_conversations_with_the_same_activity_time_are_listed_once_each(subject: Subject) -> None:
    async def scenario() -> None:
        owner = some_owner()
        made = {(await create(subject, owner=owner)).id for _ in range(5)}  # one instant
        seen: list[str] = []
        after = None
        while True:
            page = await listed(subject, owner, limit=2, after=after)
            seen += ids(page)
            after = page.next
            if after is None:
                break
        assert sorted(seen, reverse=True) == seen  # ties in id order, descending
        assert set(seen) == made
        assert len(seen) == len(made)

    run(scenario())


def test_without_keys_the_list_holds_only_conversations_without_an_owner(
    subject: Subject,
) -> None:
    async def scenario() -> None:
        marker = uuid.uuid4().hex  # other tests' keyless conversations may share the database
        mine = await create(subject, stance=Stance(f"tea {marker}", "Tea wins."))
        await create(subject, owner=some_owner(), stance=Stance(f"tea {marker}", "Tea wins."))
        assert ids(await listed(subject, None, query=marker)) == [mine.id]

    run(scenario())


def test_the_query_matches_topic_or_thesis_without_case_and_without_wildcards(
    subject: Subject,
) -> None:
    async def scenario() -> None:
        owner = some_owner()
        tea = await create(subject, owner=owner, stance=Stance("Green TEA", "It wins."))
        subject.clock.advance(seconds=1)
        coffee = await create(subject, owner=owner, stance=Stance("coffee", "Tea is 100% worse."))
        subject.clock.advance(seconds=1)
        cats = await create(subject, owner=owner, stance=Stance("cats", "Cats win big."))
        unset = conversation(subject.clock, stance=None, owner=owner)
        await subject.store.create_conversation(
            unset, u("hi"), b("topic?"), receipt=None, timeout_s=5
        )
        assert ids(await listed(subject, owner, query="tea")) == [coffee.id, tea.id]
        assert ids(await listed(subject, owner, query="100%")) == [coffee.id]
        assert ids(await listed(subject, owner, query="%")) == [coffee.id]
        assert ids(await listed(subject, owner, query="win_big")) == []
        assert ids(await listed(subject, owner, query="CATS WIN")) == [cats.id]
        assert ids(await listed(subject, owner, query="tea is 1")) == [coffee.id]
        assert len(ids(await listed(subject, owner))) == 4

    run(scenario())


# --- replacing the last reply ------------------------------------------------------------


def test_a_replaced_reply_takes_the_place_of_the_last_one(subject: Subject) -> None:
    async def scenario() -> None:
        owner = some_owner()
        conv = await create(subject, 2, owner=owner)
        other = await create(subject, owner=owner)
        subject.clock.advance(seconds=5)
        request = IdempotentRequest("c" * 64, conv.id, "regenerate")
        claim = await subject.store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert isinstance(claim, Claimed)
        result = TurnResult(conv.id, [u("u2"), b("again")])
        async with subject.store.turn(
            conv.id, owner=owner, window=5, lease_s=LEASE_S, timeout_s=5
        ) as turn:
            await turn.replace_reply(b("again"), None, receipt=Receipt(claim, result), timeout_s=5)
        assert await texts(subject, conv.id) == ["u1", "b1", "u2", "again"]
        found = await listed(subject, owner)
        assert ids(found) == [conv.id, other.id]  # a regeneration is activity
        assert found.conversations[0].turns == 2
        assert found.conversations[0].updated_at == subject.clock()
        replay = await subject.store.claim_key(request, lease_s=LEASE_S, ttl_s=TTL_S, timeout_s=5)
        assert replay == SeenBefore(conv.id, "regenerate", result)
        await commit_turn(subject, conv.id, "u3", "b3", owner=owner)  # the hold was given back
        assert await texts(subject, conv.id) == ["u1", "b1", "u2", "again", "u3", "b3"]

    run(scenario())


def test_a_replacement_fixes_a_missing_stance_once_and_needs_the_hold(subject: Subject) -> None:
    async def scenario() -> None:
        conv = conversation(subject.clock, stance=None)
        await subject.store.create_conversation(
            conv, u("hi"), b("topic?"), receipt=None, timeout_s=5
        )
        async with subject.store.turn(
            conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
        ) as stale:
            subject.clock.advance(seconds=LEASE_S + 1)
            async with subject.store.turn(
                conv.id, owner=None, window=5, lease_s=LEASE_S, timeout_s=5
            ) as turn:
                await turn.replace_reply(
                    b("tea it is"), Stance("tea", "Tea."), receipt=None, timeout_s=5
                )
            with pytest.raises(TurnInProgress):
                await stale.replace_reply(b("late"), None, receipt=None, timeout_s=5)
        page = await subject.store.transcript_page(
            conv.id, owner=None, limit=10, max_chars=10**6, older_than=None, timeout_s=5
        )
        assert [m.text for m in page.messages] == ["hi", "tea it is"]
        assert page.conversation.stance == Stance("tea", "Tea.")

    run(scenario())
