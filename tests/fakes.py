"""Fakes (not mocks) for the use case's ports: an in-memory store and a scripted responder."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from agent.domain import (
    Conversation,
    ConversationTranscript,
    Message,
    Opening,
    Role,
    Stance,
)
from agent.errors import ConversationNotFound, ModelUnavailable, TurnInProgress
from agent.ports import TurnContext


@dataclass
class _Stored:
    conversation: Conversation
    messages: list[Message] = field(default_factory=list)
    lease: str | None = None


class InMemoryStore:
    """Behaves like the SQL store: window reads, one lease per conversation, atomic commits."""

    def __init__(self) -> None:
        self.rows: dict[str, _Stored] = {}
        self.window_reads: list[int] = []

    async def begin_turn(self, conversation_id: str, window: int, lease_s: float) -> TurnContext:
        stored = self.rows.get(conversation_id)
        if stored is None:
            raise ConversationNotFound(conversation_id)
        if stored.lease is not None:
            raise TurnInProgress(conversation_id)
        stored.lease = uuid.uuid4().hex
        self.window_reads.append(window)
        return TurnContext(
            conversation=stored.conversation,
            recent=list(stored.messages[-window:]),
            next_seq=len(stored.messages) + 1,
            lease=stored.lease,
        )

    async def commit_turn(
        self, ctx: TurnContext, user: Message, bot: Message, new_stance: Stance | None
    ) -> None:
        stored = self.rows[ctx.conversation.id]
        if stored.lease != ctx.lease or len(stored.messages) + 1 != ctx.next_seq:
            raise TurnInProgress(ctx.conversation.id)
        if new_stance is not None and stored.conversation.stance is None:
            old = stored.conversation
            stored.conversation = Conversation(
                old.id, new_stance, old.prompt_version, old.created_at
            )
        stored.messages += [user, bot]
        stored.lease = None

    async def release_turn(self, ctx: TurnContext) -> None:
        stored = self.rows[ctx.conversation.id]
        if stored.lease == ctx.lease:
            stored.lease = None

    async def create_conversation(
        self, conversation: Conversation, user: Message, bot: Message
    ) -> None:
        self.rows[conversation.id] = _Stored(conversation, [user, bot])

    async def transcript(self, conversation_id: str) -> ConversationTranscript:
        stored = self.rows.get(conversation_id)
        if stored is None:
            raise ConversationNotFound(conversation_id)
        return ConversationTranscript(stored.conversation, list(stored.messages))

    async def ping(self) -> None:
        return None

    def message_count(self) -> int:
        return sum(len(s.messages) for s in self.rows.values())


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
    optionally a failure or a delay."""

    def __init__(self, stance: Stance | None = Stance("tea", "Tea beats coffee.")) -> None:
        self.stance = stance
        self.calls: list[ResponderCall] = []
        self.fail_with: Exception | None = None
        self.delay_s = 0.0

    async def _answer(self, call: ResponderCall) -> str:
        self.calls.append(call)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            raise self.fail_with
        return f"bot reply {len(self.calls)}"

    async def open(
        self, message: str, history: list[Message], prompt_version: str, timeout_s: float
    ) -> Opening:
        call = ResponderCall("open", message, history, None, prompt_version, timeout_s)
        reply = await self._answer(call)
        return Opening(stance=self.stance, reply=reply)

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
    ) -> str:
        return await self._answer(
            ResponderCall("reply", message, history, stance, prompt_version, timeout_s)
        )


def user(text: str) -> Message:
    return Message(Role.USER, text)


def bot(text: str) -> Message:
    return Message(Role.BOT, text)


def always_fails() -> Exception:
    return ModelUnavailable("scripted failure")
