"""The debate turn: take a user message, produce the bot's reply, keep both.

Imports nothing from SQLAlchemy, LangChain or FastAPI: storage and the model come in as ports.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.domain import (
    Conversation,
    ConversationTranscript,
    Message,
    Opening,
    Role,
    TurnResult,
)
from agent.errors import DeadlineExceeded, TurnCapReached
from agent.ports import ConversationStore, Responder, TurnContext


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    history_limit: int = 5  # messages returned to the caller
    context_messages: int = 10  # past messages the model sees
    timeout_s: float = 25.0  # one deadline for the whole turn
    max_turns: int = 1000  # turns (user+bot pairs) per conversation
    prompt_version: str = "v2"  # for new conversations


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


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
        self, conversation_id: str | None, text: str, *, budget_s: float | None = None
    ) -> TurnResult:
        """``budget_s``: the time this turn may still use (None: the policy's ``timeout_s``).
        On Lambda the caller passes what is left of the request's own budget."""
        deadline = self._monotonic() + (self._policy.timeout_s if budget_s is None else budget_s)
        if conversation_id is None:
            return await self._first_turn(text, deadline)
        # The lease outlives the deadline a little, so a crashed turn frees it by itself.
        ctx = await self._store.begin_turn(
            conversation_id, self._window, lease_s=self._policy.timeout_s + 5.0
        )
        try:
            return await self._next_turn(ctx, text, deadline)
        except BaseException:
            await self._store.release_turn(ctx)
            raise

    async def transcript(self, conversation_id: str) -> ConversationTranscript:
        return await self._store.transcript(conversation_id)

    async def _first_turn(self, text: str, deadline: float) -> TurnResult:
        version = self._policy.prompt_version
        opening = await self._responder.open(text, [], version, self._remaining(deadline))
        conversation = Conversation(
            id=self._new_id(), stance=opening.stance, prompt_version=version, created_at=self._now()
        )
        user, bot = Message(Role.USER, text), Message(Role.BOT, opening.reply)
        self._remaining(deadline)  # a reply that arrives after the deadline is not stored
        await self._store.create_conversation(conversation, user, bot)
        return TurnResult(conversation.id, self._window_after([], user, bot))

    async def _next_turn(self, ctx: TurnContext, text: str, deadline: float) -> TurnResult:
        conversation = ctx.conversation
        turns_so_far = (ctx.next_seq - 1) // 2
        if turns_so_far >= self._policy.max_turns:
            raise TurnCapReached(conversation.id, self._policy.max_turns)
        context = (
            ctx.recent[-self._policy.context_messages :] if self._policy.context_messages else []
        )
        version = conversation.prompt_version
        if conversation.stance is None:
            # Nothing debatable was said yet: this message may name the topic.
            opening = await self._responder.open(text, context, version, self._remaining(deadline))
        else:
            reply = await self._responder.reply(
                conversation.stance, context, text, version, self._remaining(deadline)
            )
            opening = Opening(stance=None, reply=reply)
        user, bot = Message(Role.USER, text), Message(Role.BOT, opening.reply)
        self._remaining(deadline)  # a reply that arrives after the deadline is not stored
        await self._store.commit_turn(ctx, user, bot, opening.stance)
        return TurnResult(conversation.id, self._window_after(ctx.recent, user, bot))

    def _window_after(self, recent: list[Message], user: Message, bot: Message) -> list[Message]:
        return [*recent, user, bot][-self._policy.history_limit :]

    def _remaining(self, deadline: float) -> float:
        left = deadline - self._monotonic()
        if left <= 0:
            raise DeadlineExceeded("the turn ran past its deadline")
        return left
