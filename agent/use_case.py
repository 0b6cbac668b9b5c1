"""The debate turn: take a user message, produce the bot's reply, keep both.

Imports nothing from SQLAlchemy, LangChain or FastAPI: storage and the model come in as ports.
One deadline covers the whole turn: every storage call and the model call get what is left of
it, and a reply that comes back after it is never stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from agent.domain import (
    Conversation,
    ConversationList,
    ListPosition,
    Message,
    Opening,
    Role,
    TranscriptPage,
    TurnResult,
    canonical_id,
)
from agent.errors import (
    DeadlineExceeded,
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
    NothingToRegenerate,
    TurnCapReached,
)
from agent.observability import note
from agent.ports import (
    Claimed,
    ConversationStore,
    IdempotentRequest,
    OnToken,
    Receipt,
    Responder,
    SeenBefore,
    Turn,
)

log = logging.getLogger("kopichat.turn")

IDEMPOTENCY_TTL_S = 24 * 3600.0
# While the first request with a key runs, a duplicate looks again after this long (doubling).
_KEY_POLL_S = (0.05, 0.5)
# Stands for the message of a regeneration in an Idempotency-Key record: not a SHA-256 digest,
# so it never equals the hash of a message sent to POST /api/chat.
REGENERATE_MARK = "regenerate"


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    history_limit: int = 5  # messages returned to the caller
    context_messages: int = 10  # past messages the model sees
    timeout_s: float = 25.0  # one deadline for the whole turn
    max_turns: int = 1000  # turns (user+bot pairs) per conversation
    prompt_version: str = "v3"  # for new conversations
    # Kept back from the model's share of the deadline so the commit still fits in it.
    commit_reserve_s: float = 1.0
    page_limit: int = 50  # messages per transcript page, by default
    # ...and about this much text: even at 6 bytes of JSON per character (\u escapes) a page
    # stays far below the 6 MB a Lambda response may hold.
    page_max_chars: int = 250_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Clock:
    """The turn's single deadline."""

    def __init__(self, monotonic: Callable[[], float], budget_s: float) -> None:
        self._monotonic = monotonic
        self._deadline = monotonic() + budget_s

    def remaining(self) -> float:
        """Seconds left; raises DeadlineExceeded when none are."""
        left = self._deadline - self._monotonic()
        if left <= 0:
            raise DeadlineExceeded("the turn ran past its deadline")
        return left


class DebateTurns:
    def __init__(
        self,
        store: ConversationStore,
        responder: Responder,
        policy: TurnPolicy,
        *,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._responder = responder
        self._policy = policy
        self._now = now
        self._monotonic = monotonic
        self._new_id = new_id
        # One read serves both the model's context and the caller's window.
        self._window = max(policy.context_messages, policy.history_limit)

    async def take_turn(
        self,
        conversation_id: str | None,
        text: str,
        *,
        budget_s: float | None = None,
        owner: str | None = None,
        idempotency_key: str | None = None,
        on_token: OnToken | None = None,
    ) -> TurnResult:
        """One turn. `budget_s`: the time this turn may still use (None: the policy's timeout).
        `owner`: the caller's API key id, when keys are on. `idempotency_key`: a retry with the
        same key and request gets the first answer back and stores nothing new. `on_token`:
        sees the reply as the model writes it (the result holds the reply as stored)."""
        clock = _Clock(self._monotonic, self._policy.timeout_s if budget_s is None else budget_s)
        target = canonical_id(conversation_id) if conversation_id is not None else None
        if target is not None:
            note(conversation_id=target)
        if idempotency_key is None:
            return await self._turn(target, text, owner, clock, None, on_token)
        request = IdempotentRequest(
            key=_sha256(f"{owner or ''}\n{idempotency_key}"),
            target=target or "",
            message_hash=_sha256(text),
        )
        return await self._with_key(
            request, clock, lambda claim: self._turn(target, text, owner, clock, claim, on_token)
        )

    async def transcript(
        self,
        conversation_id: str,
        *,
        owner: str | None = None,
        limit: int | None = None,
        older_than: int | None = None,
    ) -> TranscriptPage:
        target = canonical_id(conversation_id)
        note(conversation_id=target)
        return await self._store.transcript_page(
            target,
            owner=owner,
            limit=limit or self._policy.page_limit,
            max_chars=self._policy.page_max_chars,
            older_than=older_than,
            timeout_s=self._policy.timeout_s,
        )

    async def conversations(
        self,
        *,
        owner: str | None = None,
        limit: int = 20,
        after: ListPosition | None = None,
        query: str | None = None,
    ) -> ConversationList:
        """The caller's conversations, most recently active first (see ConversationStore)."""
        return await self._store.list_conversations(
            owner=owner,
            limit=limit,
            after=after,
            query=(query.strip() or None) if query is not None else None,
            timeout_s=self._policy.timeout_s,
        )

    async def regenerate(
        self,
        conversation_id: str,
        *,
        budget_s: float | None = None,
        owner: str | None = None,
        idempotency_key: str | None = None,
    ) -> TurnResult:
        """The last turn again: a new bot reply to the same user message takes the place of
        the last one, under the same deadline, turn lease, guard and Idempotency-Key rules as
        a turn. The stance stays as it is (a conversation with none yet may get one, as in any
        turn). Raises NothingToRegenerate when the last message is not a bot reply."""
        clock = _Clock(self._monotonic, self._policy.timeout_s if budget_s is None else budget_s)
        target = canonical_id(conversation_id)
        note(conversation_id=target)
        if idempotency_key is None:
            return await self._regenerate(target, owner, clock, None)
        request = IdempotentRequest(
            key=_sha256(f"{owner or ''}\n{idempotency_key}"),
            target=target,
            message_hash=REGENERATE_MARK,
        )
        return await self._with_key(
            request, clock, lambda claim: self._regenerate(target, owner, clock, claim)
        )

    async def _with_key(
        self,
        request: IdempotentRequest,
        clock: _Clock,
        work: Callable[[Claimed], Awaitable[TurnResult]],
    ) -> TurnResult:
        """`work` under an Idempotency-Key: the stored answer if there is one, else `work`'s."""
        claim = await self._claim(request, clock)
        if isinstance(claim, TurnResult):
            note(conversation_id=claim.conversation_id, replayed=True)
            return claim
        try:
            return await work(claim)
        except BaseException:
            # The turn stored nothing: forget the claim so that a retry runs the turn again.
            # A failure here must not replace the turn's own error; an abandoned claim
            # expires with its lease anyway.
            try:
                await self._store.release_key(claim, timeout_s=self._cleanup_time(clock))
            except Exception as exc:
                log.warning("could not release an idempotency key: %s", type(exc).__name__)
            raise

    async def _regenerate(
        self,
        target: str,
        owner: str | None,
        clock: _Clock,
        claim: Claimed | None,
    ) -> TurnResult:
        policy = self._policy
        # The user message and reply being redone, the context before them, the caller's window.
        window = max(policy.context_messages + 2, policy.history_limit)
        async with self._store.turn(
            target, owner=owner, window=window, lease_s=self._lease_s(), timeout_s=clock.remaining()
        ) as turn:
            recent = turn.recent
            if (
                len(recent) < 2
                or recent[-1].role is not Role.BOT
                or recent[-2].role is not Role.USER
            ):
                raise NothingToRegenerate(target)
            text = recent[-2].text
            context = recent[:-2][-policy.context_messages :] if policy.context_messages else []
            opening = await self._answer(turn.conversation, context, text, clock, None)
            bot = Message(Role.BOT, opening.reply)
            result = TurnResult(turn.conversation.id, [*recent[:-1], bot][-policy.history_limit :])
            log.debug("regenerated: user %r, bot %r", text, opening.reply)
            await turn.replace_reply(
                bot, opening.stance, receipt=_receipt(claim, result), timeout_s=clock.remaining()
            )
            return result

    async def _answer(
        self,
        conversation: Conversation,
        context: list[Message],
        text: str,
        clock: _Clock,
        on_token: OnToken | None,
    ) -> Opening:
        """The model's reply to `text`; while no side is fixed, the message may name the topic."""
        version = conversation.prompt_version
        note(prompt_version=version)
        if conversation.stance is None:
            return await self._responder.open(
                text, context, version, self._model_time(clock), on_token=on_token
            )
        reply = await self._responder.reply(
            conversation.stance, context, text, version, self._model_time(clock), on_token=on_token
        )
        return Opening(stance=None, reply=reply)

    async def delete(self, conversation_id: str, *, owner: str | None = None) -> None:
        target = canonical_id(conversation_id)
        note(conversation_id=target)
        await self._store.delete_conversation(target, owner=owner, timeout_s=self._policy.timeout_s)

    async def _claim(self, request: IdempotentRequest, clock: _Clock) -> Claimed | TurnResult:
        """Take the key, or return the first request's answer; while that first request is
        still running, wait for it as long as this turn's deadline allows."""
        wait_s = _KEY_POLL_S[0]
        while True:
            seen = await self._store.claim_key(
                request,
                lease_s=self._lease_s(),
                ttl_s=IDEMPOTENCY_TTL_S,
                timeout_s=clock.remaining(),
            )
            if isinstance(seen, Claimed):
                return seen
            _check_same_request(seen, request)
            if seen.result is not None:
                return replace(seen.result, replayed=True)
            if clock.remaining() <= wait_s:
                raise IdempotencyKeyInUse()
            await asyncio.sleep(wait_s)
            wait_s = min(wait_s * 2, _KEY_POLL_S[1])

    async def _turn(
        self,
        target: str | None,
        text: str,
        owner: str | None,
        clock: _Clock,
        claim: Claimed | None,
        on_token: OnToken | None = None,
    ) -> TurnResult:
        if target is None:
            return await self._first_turn(text, owner, clock, claim, on_token)
        async with self._store.turn(
            target,
            owner=owner,
            window=self._window,
            lease_s=self._lease_s(),
            timeout_s=clock.remaining(),
        ) as turn:
            return await self._next_turn(turn, text, clock, claim, on_token)

    async def _first_turn(
        self,
        text: str,
        owner: str | None,
        clock: _Clock,
        claim: Claimed | None,
        on_token: OnToken | None,
    ) -> TurnResult:
        version = self._policy.prompt_version
        note(prompt_version=version)
        opening = await self._responder.open(
            text, [], version, self._model_time(clock), on_token=on_token
        )
        user, bot = Message(Role.USER, text), Message(Role.BOT, opening.reply)
        conversation = Conversation(
            id=self._new_id(),
            stance=opening.stance,
            prompt_version=version,
            created_at=self._now(),
            owner=owner,
        )
        note(conversation_id=conversation.id)
        result = TurnResult(conversation.id, self._window_after([], user, bot))
        log.debug("turn: user %r, bot %r", text, opening.reply)
        # The deadline check comes right before the write: a late reply is never stored.
        await self._store.create_conversation(
            conversation,
            user,
            bot,
            receipt=_receipt(claim, result),
            timeout_s=clock.remaining(),
        )
        return result

    async def _next_turn(
        self,
        turn: Turn,
        text: str,
        clock: _Clock,
        claim: Claimed | None,
        on_token: OnToken | None,
    ) -> TurnResult:
        conversation = turn.conversation
        if turn.turns_taken >= self._policy.max_turns:
            raise TurnCapReached(conversation.id, self._policy.max_turns)
        context = (
            turn.recent[-self._policy.context_messages :] if self._policy.context_messages else []
        )
        opening = await self._answer(conversation, context, text, clock, on_token)
        user, bot = Message(Role.USER, text), Message(Role.BOT, opening.reply)
        result = TurnResult(conversation.id, self._window_after(turn.recent, user, bot))
        log.debug("turn: user %r, bot %r", text, opening.reply)
        await turn.commit(
            user,
            bot,
            opening.stance,
            receipt=_receipt(claim, result),
            timeout_s=clock.remaining(),  # a reply that arrives after the deadline is not stored
        )
        return result

    def _model_time(self, clock: _Clock) -> float:
        """The model's share: what is left, less the time the commit needs."""
        left = clock.remaining()
        reserve = min(self._policy.commit_reserve_s, left / 5)
        return left - reserve

    def _lease_s(self) -> float:
        # The lease outlives the deadline a little, so a crashed turn frees it by itself.
        return self._policy.timeout_s + 5.0

    def _cleanup_time(self, clock: _Clock) -> float:
        try:
            return clock.remaining()
        except DeadlineExceeded:
            return self._policy.commit_reserve_s

    def _window_after(self, recent: list[Message], user: Message, bot: Message) -> list[Message]:
        return [*recent, user, bot][-self._policy.history_limit :]


def _receipt(claim: Claimed | None, result: TurnResult) -> Receipt | None:
    return Receipt(claim, result) if claim is not None else None


def _check_same_request(seen: SeenBefore, request: IdempotentRequest) -> None:
    if (seen.message_hash == REGENERATE_MARK) != (request.message_hash == REGENERATE_MARK):
        raise IdempotencyKeyMismatch(
            "this Idempotency-Key was already used for another kind of request (a message "
            "or a regeneration); use a new key for a new request"
        )
    if seen.target != request.target:
        raise IdempotencyKeyMismatch(
            "this Idempotency-Key was already used for another conversation; "
            "use a new key for a new request"
        )
    if seen.message_hash != request.message_hash:
        raise IdempotencyKeyMismatch(
            "this Idempotency-Key was already used with a different message; "
            "use a new key for a new request"
        )
