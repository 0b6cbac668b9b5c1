"""Seed conversations of an exact length straight into the tables (no API calls), and put them
back to that length after each measured round.

Kopichat: a `conversations` row (topic, thesis, prompt version v1) and `messages` seq 1..N,
user and bot alternating. Baseline: the same texts as `message_store` rows (session_id + the
message as LangChain's JSON), the table SQLChatMessageHistory creates.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, message_to_dict

from bench.db import execute, scalar

TOPIC = "remote work"
THESIS = "Remote work is better than office work."
OPENING = "Convince me that remote work is better than office work."

_POINTS = (
    "Offices build trust and culture in a way video calls never will, and juniors learn by "
    "watching seniors work next to them every day.",
    "Commuting is a small price for the spontaneous conversations that spark new ideas at the "
    "coffee machine or in the corridor.",
    "People at home get distracted by chores, children and their phones, so productivity drops "
    "even if nobody admits it.",
    "Managers cannot mentor or notice burnout through a screen; the office keeps teams healthy "
    "and connected.",
)


def user_text(turn: int) -> str:
    """A user's message of a realistic length (about 150 characters)."""
    return f"{_POINTS[turn % len(_POINTS)]} (point {turn})"


def bot_text(turn: int) -> str:
    """A bot reply of the fake model's length and shape (about 250 characters)."""
    return (
        f"I stand by my position: {THESIS} Here is why: You say \u201c"
        f"{user_text(turn)[:60]}\u201d, but that does not hold up. Here is argument {turn} for "
        "my side. Can you answer it?"
    )


def conversation_texts(length: int) -> list[tuple[str, str]]:
    """(role, text) for messages 1..length: user first, then alternating."""
    texts: list[tuple[str, str]] = []
    for index in range(length):
        turn = index // 2 + 1
        if index % 2 == 0:
            texts.append(("user", OPENING if index == 0 else user_text(turn)))
        else:
            texts.append(("bot", bot_text(turn)))
    return texts


@dataclass(frozen=True, slots=True)
class Seeded:
    """Conversations of `length` messages, and how to put them back to that length."""

    url: str
    ids: list[str]
    length: int
    reset_sql: str
    reset_params: dict[str, Any]

    def reset(self) -> None:
        execute(self.url, self.reset_sql, self.reset_params)


def _insert_batches(url: str, sql: str, rows: list[dict[str, Any]], size: int = 2000) -> None:
    for start in range(0, len(rows), size):
        execute(url, sql, rows[start : start + size])


def seed_kopichat(url: str, conversations: int, length: int) -> Seeded:
    """`conversations` conversations of exactly `length` messages in Kopichat's schema."""
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [str(uuid.uuid4()) for _ in range(conversations)]
    texts = conversation_texts(length)
    _insert_batches(
        url,
        "INSERT INTO conversations (id, topic, thesis, prompt_version, created_at, updated_at) "
        "VALUES (:id, :topic, :thesis, 'v1', :now, :now)",
        [{"id": cid, "topic": TOPIC, "thesis": THESIS, "now": now} for cid in ids],
    )
    _insert_batches(
        url,
        "INSERT INTO messages (conversation_id, seq, role, content, created_at) "
        "VALUES (:cid, :seq, :role, :content, :now)",
        [
            {"cid": cid, "seq": seq, "role": role, "content": content, "now": now}
            for cid in ids
            for seq, (role, content) in enumerate(texts, start=1)
        ],
    )
    return Seeded(url, ids, length, "DELETE FROM messages WHERE seq > :n", {"n": length})


def seed_baseline(url: str, conversations: int, length: int) -> Seeded:
    """The same conversations as SQLChatMessageHistory rows (its table must exist)."""
    ids = [str(uuid.uuid4()) for _ in range(conversations)]
    as_json = [
        json.dumps(message_to_dict(HumanMessage(content) if role == "user" else AIMessage(content)))
        for role, content in conversation_texts(length)
    ]
    _insert_batches(
        url,
        "INSERT INTO message_store (session_id, message) VALUES (:sid, :message)",
        [{"sid": sid, "message": message} for sid in ids for message in as_json],
    )
    last_id = int(scalar(url, "SELECT COALESCE(MAX(id), 0) FROM message_store"))
    return Seeded(url, ids, length, "DELETE FROM message_store WHERE id > :last", {"last": last_id})
