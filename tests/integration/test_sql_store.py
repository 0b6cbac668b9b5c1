"""The SQL store on SQLite and on MariaDB/MySQL over a real connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, event, func, select

from agent.adapters.sql.engine import create_schema_if_sqlite, make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.tables import conversations, messages
from agent.domain import Conversation, Message, Role, Stance
from agent.errors import ConversationNotFound, TurnInProgress
from agent.ports import TurnContext

TEXTS = ["plain", "emoji 😀🎉", "日本語のテキスト", "  spaced\n\ttabs  ", "ñandú — «quotes»", "𝔘𝔫𝔦"]


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("migrated_mysql_url")
    eng = make_engine(url)
    create_schema_if_sqlite(eng)
    yield eng
    with eng.begin() as conn:
        conn.execute(delete(messages))
        conn.execute(delete(conversations))
    eng.dispose()


def new_conversation(stance: Stance | None = Stance("tea", "Tea wins.")) -> Conversation:
    return Conversation(str(uuid.uuid4()), stance, "v1", datetime.now(UTC))


def seed(store: SqlConversationStore, turns: int) -> Conversation:
    conv = new_conversation()
    asyncio.run(store.create_conversation(conv, Message(Role.USER, "u1"), Message(Role.BOT, "b1")))
    for n in range(2, turns + 1):
        ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
        asyncio.run(
            store.commit_turn(ctx, Message(Role.USER, f"u{n}"), Message(Role.BOT, f"b{n}"), None)
        )
    return conv


def test_window_is_the_newest_messages_oldest_first(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = seed(store, 6)
    ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
    assert [m.text for m in ctx.recent] == ["b4", "u5", "b5", "u6", "b6"]
    assert ctx.next_seq == 13
    assert ctx.conversation.stance == Stance("tea", "Tea wins.")
    asyncio.run(store.release_turn(ctx))


def test_a_turn_reads_a_bounded_window_not_the_whole_history(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = seed(store, 40)
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(ctx.recent) == 5
    reads = [s for s in statements if "FROM messages" in s]
    assert len(reads) == 1
    assert "ORDER BY messages.seq DESC" in reads[0]
    assert "LIMIT" in reads[0]
    asyncio.run(store.release_turn(ctx))


def test_text_round_trips_byte_exact(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = new_conversation()
    asyncio.run(
        store.create_conversation(conv, Message(Role.USER, TEXTS[0]), Message(Role.BOT, TEXTS[1]))
    )
    for a, b in zip(TEXTS[2::2], TEXTS[3::2], strict=True):
        ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
        asyncio.run(store.commit_turn(ctx, Message(Role.USER, a), Message(Role.BOT, b), None))
    transcript = asyncio.run(store.transcript(conv.id))
    assert [m.text for m in transcript.messages] == TEXTS
    assert [m.role for m in transcript.messages] == [Role.USER, Role.BOT] * 3


def test_unknown_conversation(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    with pytest.raises(ConversationNotFound):
        asyncio.run(store.begin_turn(str(uuid.uuid4()), 5, 30))
    with pytest.raises(ConversationNotFound):
        asyncio.run(store.transcript(str(uuid.uuid4())))


def test_a_held_lease_refuses_a_second_turn_until_released(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = seed(store, 1)
    first = asyncio.run(store.begin_turn(conv.id, 5, 30))
    with pytest.raises(TurnInProgress):
        asyncio.run(store.begin_turn(conv.id, 5, 30))
    asyncio.run(store.release_turn(first))
    second = asyncio.run(store.begin_turn(conv.id, 5, 30))
    asyncio.run(store.commit_turn(second, Message(Role.USER, "u"), Message(Role.BOT, "b"), None))
    assert len(asyncio.run(store.transcript(conv.id)).messages) == 4


def test_an_expired_lease_can_be_taken_and_the_late_turn_cannot_commit(engine: Engine) -> None:
    clock = [datetime(2026, 1, 1, 12, 0, 0)]
    store = SqlConversationStore(engine, now=lambda: clock[0])
    conv = seed(store, 1)
    stale = asyncio.run(store.begin_turn(conv.id, 5, 30))
    clock[0] += timedelta(seconds=31)
    fresh = asyncio.run(store.begin_turn(conv.id, 5, 30))
    with pytest.raises(TurnInProgress):
        asyncio.run(
            store.commit_turn(stale, Message(Role.USER, "late"), Message(Role.BOT, "x"), None)
        )
    asyncio.run(store.commit_turn(fresh, Message(Role.USER, "u2"), Message(Role.BOT, "b2"), None))
    assert [m.text for m in asyncio.run(store.transcript(conv.id)).messages] == [
        "u1",
        "b1",
        "u2",
        "b2",
    ]


def test_a_duplicate_sequence_is_refused_and_stores_nothing(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = seed(store, 1)
    ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
    forged = TurnContext(ctx.conversation, ctx.recent, next_seq=2, lease=ctx.lease)  # seq 2 exists
    with pytest.raises(TurnInProgress):
        asyncio.run(
            store.commit_turn(forged, Message(Role.USER, "x"), Message(Role.BOT, "y"), None)
        )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == 2


def test_the_stance_is_set_once(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = new_conversation(stance=None)
    asyncio.run(
        store.create_conversation(conv, Message(Role.USER, "hi"), Message(Role.BOT, "topic?"))
    )
    ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
    assert ctx.conversation.stance is None
    asyncio.run(
        store.commit_turn(
            ctx, Message(Role.USER, "tea"), Message(Role.BOT, "b"), Stance("tea", "Tea.")
        )
    )
    ctx = asyncio.run(store.begin_turn(conv.id, 5, 30))
    asyncio.run(
        store.commit_turn(
            ctx, Message(Role.USER, "u"), Message(Role.BOT, "b"), Stance("x", "Other.")
        )
    )
    transcript = asyncio.run(store.transcript(conv.id))
    assert transcript.conversation.stance == Stance("tea", "Tea.")
    assert transcript.conversation.created_at.tzinfo is not None


def test_ping(engine: Engine) -> None:
    asyncio.run(SqlConversationStore(engine).ping())


@pytest.mark.mysql
def test_migrations_match_the_table_definitions(migrated_mysql_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from agent.adapters.sql.tables import metadata

    eng = make_engine(migrated_mysql_url)
    with eng.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
        columns = {
            row[0]: row[1]
            for row in conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = DATABASE() AND table_name = 'messages'"
            )
        }
        charset = conn.exec_driver_sql(
            "SELECT table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = 'messages'"
        ).scalar_one()
    eng.dispose()
    assert diff == []
    assert columns["content"] == "mediumtext"
    assert charset.startswith("utf8mb4")
