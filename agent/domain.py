"""Domain types: who said what in a conversation, and the side the bot defends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def canonical_id(conversation_id: str) -> str:
    """Conversation ids are lower-case UUIDs; clients may send any case (Swift's `uuidString`
    is upper case), so every id is matched in this form."""
    return conversation_id.strip().lower()


def is_conversation_id(text: str) -> bool:
    return bool(_UUID.match(canonical_id(text)))


class Role(StrEnum):
    USER = "user"
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Stance:
    """The topic under debate, the thesis the bot defends and the claim it opposes (the user's
    own claim, or the thesis's opposite). Fixed once, never changed.

    `antithesis` is empty only for conversations stored before it was kept; nothing reads it back
    out of the thesis."""

    topic: str
    thesis: str
    antithesis: str = ""


@dataclass(frozen=True, slots=True)
class Opening:
    """Result of a conversation's opening turn: the stance (None if nothing debatable yet) and
    the bot's first reply."""

    stance: Stance | None
    reply: str


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    stance: Stance | None
    prompt_version: str
    created_at: datetime
    # The API key that created it (its hash), or None when API keys are off.
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptPage:
    """One page of a conversation's messages, oldest first within the page.

    Pages run from the newest messages backwards: `older` is the cursor of the page before
    this one (None when this page starts at the first message)."""

    conversation: Conversation
    messages: list[Message]
    older: int | None


@dataclass(frozen=True, slots=True)
class TurnResult:
    conversation_id: str
    recent: list[Message]
    # True when this is the stored answer to an earlier request with the same Idempotency-Key.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class PurgeReport:
    conversations: int
    idempotency_keys: int


@dataclass(frozen=True, slots=True)
class ListPosition:
    """Where a page of the conversation list ends: the last conversation's last activity and
    id. The next page starts just after it, in the order (updated_at, id) descending."""

    updated_at: datetime
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    conversation: Conversation
    updated_at: datetime
    turns: int  # completed turns: a user message and the bot's reply


@dataclass(frozen=True, slots=True)
class ConversationList:
    """One page of a caller's conversations, newest activity first; `next` is None on the last."""

    conversations: list[ConversationSummary]
    next: ListPosition | None
