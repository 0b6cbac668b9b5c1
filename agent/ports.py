"""The two ports the use case depends on. Adapters live in `agent.adapters`; fakes in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.domain import Conversation, ConversationTranscript, Message, Opening, Stance


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What a turn needs from storage, read before the model call.

    `recent` holds the newest stored messages, oldest first; `next_seq` is the sequence number
    the user message of this turn gets; `lease` proves this turn holds the conversation.
    """

    conversation: Conversation
    recent: list[Message]
    next_seq: int
    lease: str


class ConversationStore(Protocol):
    async def begin_turn(self, conversation_id: str, window: int, lease_s: float) -> TurnContext:
        """Take the conversation's turn lease and read its newest `window` messages.

        Raises ConversationNotFound, or TurnInProgress when another live lease holds it."""
        ...

    async def commit_turn(
        self, ctx: TurnContext, user: Message, bot: Message, new_stance: Stance | None
    ) -> None:
        """Store both messages (and the stance, if it was fixed this turn) in one transaction and
        release the lease. Raises TurnInProgress if the lease was lost meanwhile."""
        ...

    async def release_turn(self, ctx: TurnContext) -> None:
        """Give the lease back after a failed turn; stores nothing."""
        ...

    async def create_conversation(
        self, conversation: Conversation, user: Message, bot: Message
    ) -> None:
        """Store a new conversation with its first two messages in one transaction."""
        ...

    async def transcript(self, conversation_id: str) -> ConversationTranscript:
        """Every message of a conversation, oldest first. Raises ConversationNotFound."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...


class Responder(Protocol):
    """Produces the bot's side of a turn with exactly one model call."""

    async def open(
        self, message: str, history: list[Message], prompt_version: str, timeout_s: float
    ) -> Opening:
        """First turn(s): decide topic and thesis from the message and write the opening reply."""
        ...

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
    ) -> str:
        """Later turns: argue `stance` against the user's latest message."""
        ...
