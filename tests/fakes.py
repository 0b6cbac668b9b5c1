"""Fakes (not mocks) for the use case's ports: an in-memory store and a scripted responder.

The in-memory store passes the same contract suite as the SQL store
(tests/contract/test_store_contract.py), so it cannot drift from it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from agent.domain import (
    Conversation,
    ConversationList,
    ConversationSummary,
    ListPosition,
    Message,
    Opening,
    PurgeReport,
    Role,
    Stance,
    TranscriptPage,
    TurnResult,
)
from agent.errors import (
    ConversationNotFound,
    DatabaseUnavailable,
    IdempotencyKeyInUse,
    ModelUnavailable,
    TurnInProgress,
)
from agent.ports import Claimed, IdempotentRequest, OnToken, Receipt, SeenBefore


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Stored:
    conversation: Conversation
    messages: list[Message] = field(default_factory=list)
    updated_at: datetime = field(default_factory=_utcnow)
    lease: str | None = None
    lease_until: datetime | None = None


@dataclass
class _Key:
    target: str
    message_hash: str
    token: str | None
    locked_until: datetime | None
    created_at: datetime
    conversation_id: str | None = None
    result: TurnResult | None = None


@dataclass
class _MemoryTurn:
    store: InMemoryStore
    conversation: Conversation
    recent: list[Message]
    turns_taken: int
    token: str
    committed: bool = False

    async def commit(
        self,
        user: Message,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        self.store._check_up()
        store, cid = self.store, self.conversation.id
        stored = store.rows.get(cid)
        if stored is None:
            raise ConversationNotFound(cid)
        if stored.lease != self.token:
            raise TurnInProgress(cid)
        if receipt is not None:
            store._complete_key(receipt)  # raises before anything changes
        if new_stance is not None and stored.conversation.stance is None:
            stored.conversation = replace(stored.conversation, stance=new_stance)
        stored.messages += [user, bot]
        stored.updated_at = store.now()
        stored.lease = stored.lease_until = None
        self.committed = True

    async def replace_reply(
        self,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        self.store._check_up()
        store, cid = self.store, self.conversation.id
        stored = store.rows.get(cid)
        if stored is None:
            raise ConversationNotFound(cid)
        if stored.lease != self.token or not stored.messages:
            raise TurnInProgress(cid)
        if stored.messages[-1].role is not Role.BOT:
            raise TurnInProgress(cid)
        if receipt is not None:
            store._complete_key(receipt)
        if new_stance is not None and stored.conversation.stance is None:
            stored.conversation = replace(stored.conversation, stance=new_stance)
        stored.messages[-1] = bot
        stored.updated_at = store.now()
        stored.lease = stored.lease_until = None
        self.committed = True


class InMemoryStore:
    """Behaves like the SQL store: window reads, one lease per conversation, atomic commits,
    owners, idempotency records, pages, deletion and purging."""

    def __init__(self, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.now = now
        self.rows: dict[str, _Stored] = {}
        self.keys: dict[str, _Key] = {}
        self.window_reads: list[int] = []
        self.down = False  # set by a test: every call fails as a database outage would

    def _check_up(self) -> None:
        if self.down:
            raise DatabaseUnavailable("the database is unavailable (scripted)")

    def _owned(self, conversation_id: str, owner: str | None) -> _Stored:
        stored = self.rows.get(conversation_id)
        if stored is None or (owner is not None and stored.conversation.owner != owner):
            raise ConversationNotFound(conversation_id)
        return stored

    @asynccontextmanager
    async def turn(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        window: int,
        lease_s: float,
        timeout_s: float,
    ) -> AsyncIterator[_MemoryTurn]:
        self._check_up()
        stored = self._owned(conversation_id, owner)
        now = self.now()
        if (
            stored.lease is not None
            and stored.lease_until is not None
            and stored.lease_until >= now
        ):
            raise TurnInProgress(conversation_id)
        token = secrets.token_hex(16)
        stored.lease, stored.lease_until = token, now + timedelta(seconds=lease_s)
        self.window_reads.append(window)
        held = _MemoryTurn(
            self,
            stored.conversation,
            list(stored.messages[-window:]),
            len(stored.messages) // 2,
            token,
        )
        try:
            yield held
        finally:
            if not held.committed and not self.down and stored.lease == token:
                stored.lease = stored.lease_until = None

    async def create_conversation(
        self,
        conversation: Conversation,
        user: Message,
        bot: Message,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        self._check_up()
        if receipt is not None:
            self._complete_key(receipt)
        self.rows[conversation.id] = _Stored(
            conversation, [user, bot], updated_at=conversation.created_at
        )

    async def transcript_page(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        limit: int,
        max_chars: int,
        older_than: int | None,
        timeout_s: float,
    ) -> TranscriptPage:
        self._check_up()
        stored = self._owned(conversation_id, owner)
        end = len(stored.messages) if older_than is None else max(older_than - 1, 0)
        kept: list[Message] = []
        chars = 0
        for message in reversed(stored.messages[max(end - limit, 0) : end]):
            chars += len(message.text)
            if kept and chars > max_chars:
                break
            kept.append(message)
        kept.reverse()
        first_seq = end - len(kept) + 1
        older = first_seq if kept and first_seq > 1 else None
        return TranscriptPage(stored.conversation, kept, older)

    async def list_conversations(
        self,
        *,
        owner: str | None,
        limit: int,
        after: ListPosition | None,
        query: str | None,
        timeout_s: float,
    ) -> ConversationList:
        self._check_up()
        needle = query.lower() if query is not None else None
        found = sorted(
            (
                s
                for s in self.rows.values()
                if s.conversation.owner == owner and _mentions(s.conversation, needle)
            ),
            key=lambda s: (s.updated_at, s.conversation.id),
            reverse=True,
        )
        if after is not None:
            position = (after.updated_at, after.conversation_id)
            found = [s for s in found if (s.updated_at, s.conversation.id) < position]
        page = [
            ConversationSummary(s.conversation, s.updated_at, len(s.messages) // 2)
            for s in found[:limit]
        ]
        last = page[-1] if len(found) > limit else None
        return ConversationList(
            page, ListPosition(last.updated_at, last.conversation.id) if last else None
        )

    async def delete_conversation(
        self, conversation_id: str, *, owner: str | None, timeout_s: float
    ) -> None:
        self._check_up()
        self._owned(conversation_id, owner)
        self._forget([conversation_id])

    def _forget(self, ids: list[str]) -> None:
        for cid in ids:
            self.rows.pop(cid, None)
        gone = set(ids)
        self.keys = {
            k: v
            for k, v in self.keys.items()
            if v.conversation_id not in gone and v.target not in gone
        }

    async def claim_key(
        self, request: IdempotentRequest, *, lease_s: float, ttl_s: float, timeout_s: float
    ) -> Claimed | SeenBefore:
        self._check_up()
        now = self.now()
        seen = self.keys.get(request.key)
        if seen is not None:
            expired = seen.created_at < now - timedelta(seconds=ttl_s)
            abandoned = seen.result is None and (
                seen.locked_until is None or seen.locked_until < now
            )
            if not (expired or abandoned):
                return SeenBefore(seen.target, seen.message_hash, seen.result)
        token = secrets.token_hex(16)
        self.keys[request.key] = _Key(
            request.target,
            request.message_hash,
            token,
            now + timedelta(seconds=lease_s),
            now,
        )
        return Claimed(request.key, token)

    def _complete_key(self, receipt: Receipt) -> None:
        held = self.keys.get(receipt.claim.key)
        if held is None or held.token != receipt.claim.token:
            raise IdempotencyKeyInUse()
        held.result = receipt.result
        held.conversation_id = receipt.result.conversation_id
        held.token = held.locked_until = None

    async def release_key(self, claim: Claimed, *, timeout_s: float) -> None:
        self._check_up()
        held = self.keys.get(claim.key)
        if held is not None and held.token == claim.token and held.result is None:
            del self.keys[claim.key]

    async def purge(self, *, idle_before: datetime | None, keys_before: datetime) -> PurgeReport:
        self._check_up()
        now = self.now()
        idle = [
            cid
            for cid, s in self.rows.items()
            if idle_before is not None
            and s.updated_at < idle_before
            and (s.lease_until is None or s.lease_until < now)
        ]
        self._forget(idle)
        old = [k for k, v in self.keys.items() if v.created_at < keys_before]
        for key in old:
            del self.keys[key]
        return PurgeReport(len(idle), len(old))

    async def ping(self) -> None:
        self._check_up()

    def message_count(self) -> int:
        return sum(len(s.messages) for s in self.rows.values())


def _mentions(conversation: Conversation, needle: str | None) -> bool:
    if needle is None:
        return True
    stance = conversation.stance
    return stance is not None and (
        needle in stance.topic.lower() or needle in stance.thesis.lower()
    )


@dataclass
class ResponderCall:
    kind: str  # "open" or "reply"
    message: str
    history: list[Message]
    stance: Stance | None
    prompt_version: str
    timeout_s: float


class ScriptedResponder:
    """Answers from rules the test sets: a fixed stance for openings, numbered replies, and
    optionally a failure, a delay, or a hook run while the model "thinks"."""

    def __init__(self, stance: Stance | None = Stance("tea", "Tea beats coffee.")) -> None:
        self.stance = stance
        self.calls: list[ResponderCall] = []
        self.fail_with: Exception | None = None
        self.delay_s = 0.0
        self.while_thinking: Callable[[], None] | None = None

    async def _answer(self, call: ResponderCall, on_token: OnToken | None = None) -> str:
        self.calls.append(call)
        if on_token is not None:  # streams its reply word by word, then thinks
            for word in ["bot ", "reply ", f"{len(self.calls)}"]:
                on_token(word)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.while_thinking is not None:
            self.while_thinking()
        if self.fail_with is not None:
            raise self.fail_with
        return f"bot reply {len(self.calls)}"

    async def open(
        self,
        message: str,
        history: list[Message],
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> Opening:
        call = ResponderCall("open", message, history, None, prompt_version, timeout_s)
        reply = await self._answer(call, on_token)
        return Opening(stance=self.stance, reply=reply)

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
        return await self._answer(
            ResponderCall("reply", message, history, stance, prompt_version, timeout_s), on_token
        )


def user(text: str) -> Message:
    return Message(Role.USER, text)


def bot(text: str) -> Message:
    return Message(Role.BOT, text)


def always_fails() -> Exception:
    return ModelUnavailable("scripted failure")
