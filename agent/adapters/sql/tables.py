"""The schema. MySQL/MariaDB get it from the Alembic migrations (kept identical, checked by a
test); SQLite creates it on start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

metadata = MetaData()

# Microsecond timestamps on MySQL (its DATETIME drops fractions by default); UTC, no zone.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
_MYSQL_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

conversations = Table(
    "conversations",
    metadata,
    Column("id", CHAR(36), primary_key=True),
    # NULL until the user names something to debate; then set once and never changed.
    Column("topic", Text, nullable=True),
    Column("thesis", Text, nullable=True),
    # The claim the thesis opposes (migration 0003); NULL in conversations stored before it.
    Column("antithesis", Text, nullable=True),
    Column("prompt_version", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    # The turn lease: which turn holds the conversation, and until when (see SqlConversationStore).
    Column("turn_lease", CHAR(32), nullable=True),
    Column("turn_lease_until", Timestamp, nullable=True),
    # The lease a cancel took away (migration 0006): its turn then knows it was cancelled.
    Column("turn_cancelled", CHAR(32), nullable=True),
    # SHA-256 of the API key that created it; NULL when API keys were off.
    Column("owner", CHAR(64), nullable=True),
    # The retention purge looks for conversations idle since a date.
    Index("ix_conversations_updated_at", "updated_at"),
    # The conversation list: one owner's, by last activity (migration 0005).
    Index("ix_conversations_owner_activity", "owner", "updated_at", "id"),
    **_MYSQL_TABLE,
)

messages = Table(
    "messages",
    metadata,
    Column(
        "conversation_id",
        CHAR(36),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # 1, 2, 3, ... per conversation; the primary key (conversation_id, seq) is the index that
    # serves `ORDER BY seq DESC LIMIT k` and rejects a second writer of the same turn.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", String(8), nullable=False),
    Column("content", LongText, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    **_MYSQL_TABLE,
)

# Idempotency-Key records. `key_hash` is the key scoped to its API key; `target` and
# `message_hash` are the request it was first used for. While the first request runs, `token`
# and `locked_until` hold the key; when its turn commits, `response` (the answer to replay) and
# `conversation_id` are written in the same transaction and the hold is cleared. Deleting the
# conversation deletes its records (they hold its text); records older than 24 h are purged.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key_hash", CHAR(64), primary_key=True),
    Column("target", String(36), nullable=False),
    Column("message_hash", CHAR(64), nullable=False),
    Column("token", CHAR(32), nullable=True),
    Column("locked_until", Timestamp, nullable=True),
    Column(
        "conversation_id",
        CHAR(36),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("response", LongText, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
    Index("ix_idempotency_keys_conversation_id", "conversation_id"),
    Index("ix_idempotency_keys_target", "target"),  # migration 0004
    **_MYSQL_TABLE,
)

# The events of streamed turns (migration 0006), so that a client whose connection dropped can
# replay them (GET /api/conversations/{id}/stream). One turn per conversation is kept: a new
# turn's first write deletes the previous one's. Rows older than 15 minutes are never replayed
# and are purged.
stream_events = Table(
    "stream_events",
    metadata,
    Column("conversation_id", CHAR(36), primary_key=True),
    Column("turn", CHAR(8), primary_key=True),  # random per turn: the first half of an event id
    Column("n", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3, ... within the turn
    Column("event", String(16), nullable=False),
    Column("data", LongText, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_stream_events_created_at", "created_at"),
    **_MYSQL_TABLE,
)
