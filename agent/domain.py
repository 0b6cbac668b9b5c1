"""Domain types: who said what in a conversation, and the side the bot defends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Stance:
    """The topic under debate and the thesis the bot defends. Fixed once, never changed."""

    topic: str
    thesis: str


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


@dataclass(frozen=True, slots=True)
class ConversationTranscript:
    """A conversation with every message, oldest first (for reading, not for turns)."""

    conversation: Conversation
    messages: list[Message]


@dataclass(frozen=True, slots=True)
class TurnResult:
    conversation_id: str
    recent: list[Message]
