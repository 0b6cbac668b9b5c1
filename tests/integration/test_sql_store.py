"""What only the SQL store has: its statements, its schema, and real races between threads on
MariaDB/MySQL. The behaviour it shares with the fake is in tests/contract."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.pool import QueuePool

from agent.adapters.sql.engine import create_schema_if_sqlite, make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.tables import conversations, idempotency_keys, messages
from agent.domain import Conversation, Message, Role, Stance
from agent.errors import DatabaseUnavailable, TurnInProgress


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
        conn.execute(delete(idempotency_keys))
        conn.execute(delete(messages))
        conn.execute(delete(conversations))
    eng.dispose()


def seed(store: SqlConversationStore, turns: int) -> Conversation:
    conv = Conversation(str(uuid.uuid4()), Stance("tea", "Tea wins."), "v1", datetime.now(UTC))

    async def fill() -> None:
        user, bot = Message(Role.USER, "u1"), Message(Role.BOT, "b1")
        await store.create_conversation(conv, user, bot, receipt=None, timeout_s=5)
        for n in range(2, turns + 1):
            async with store.turn(conv.id, owner=None, window=5, lease_s=30, timeout_s=5) as t:
                await t.commit(
                    Message(Role.USER, f"u{n}"),
                    Message(Role.BOT, f"b{n}"),
                    None,
                    receipt=None,
                    timeout_s=5,
                )

    asyncio.run(fill())
    return conv


def test_a_turn_reads_a_bounded_window_not_the_whole_history(engine: Engine) -> None:
    store = SqlConversationStore(engine)
    conv = seed(store, 40)
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    async def one_turn() -> int:
        async with store.turn(conv.id, owner=None, window=5, lease_s=30, timeout_s=5) as turn:
            return len(turn.recent)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert asyncio.run(one_turn()) == 5
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    reads = [s for s in statements if "FROM messages" in s]
    assert len(reads) == 1
    assert "ORDER BY messages.seq DESC" in reads[0]
    assert "LIMIT" in reads[0]


@pytest.mark.mysql
def test_two_threads_racing_for_one_conversation_never_both_get_it(
    migrated_mysql_url: str,
) -> None:
    """Real threads, each with its own event loop and connection, start `turn()` at the same
    instant, round after round. Exactly one of each pair holds the conversation."""
    engine = make_engine(migrated_mysql_url)
    store = SqlConversationStore(engine)
    conv = seed(store, 1)
    rounds = 25
    outcomes: list[list[str]] = [[] for _ in range(rounds)]
    start, tried = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)

    def contender(name: str) -> None:
        async def attempt(round_no: int) -> str:
            start.wait()
            try:
                async with store.turn(
                    conv.id, owner=None, window=5, lease_s=30, timeout_s=5
                ) as turn:
                    # Hold the conversation until the other thread has made its attempt.
                    await asyncio.to_thread(tried.wait)
                    await turn.commit(
                        Message(Role.USER, f"{name} {round_no}"),
                        Message(Role.BOT, "reply"),
                        None,
                        receipt=None,
                        timeout_s=5,
                    )
                    return "won"
            except TurnInProgress:
                await asyncio.to_thread(tried.wait)
                return "refused"

        for round_no in range(rounds):
            outcomes[round_no].append(asyncio.run(attempt(round_no)))

    threads = [threading.Thread(target=contender, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert all(sorted(o) == ["refused", "won"] for o in outcomes), outcomes
        with engine.connect() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(messages)
                .where(messages.c.conversation_id == conv.id)
            ).scalar_one()
            seqs = conn.scalars(
                select(messages.c.seq)
                .where(messages.c.conversation_id == conv.id)
                .order_by(messages.c.seq)
            ).all()
        assert count == 2 + 2 * rounds
        assert list(seqs) == list(range(1, count + 1))
    finally:
        engine.dispose()


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


def test_an_older_sqlite_file_is_adopted_and_upgraded(tmp_path: Path) -> None:
    """A file whose 0001 tables an older release created on start (no alembic_version)."""
    from alembic import command

    from agent.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = make_engine(url)
    with eng.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.exec_driver_sql("DROP TABLE alembic_version")
    create_schema_if_sqlite(eng)  # what the service does on start
    store = SqlConversationStore(eng)
    conv = seed(store, 2)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0006"
        assert conn.execute(select(conversations.c.owner)).scalar() is None
    assert conv.id
    eng.dispose()


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("turn_time_s", "ended_by"),
    [(5.0, "(1205)"), (0.5, "(2013)")],
    ids=["lock wait timeout", "turn deadline"],
)
def test_a_locked_row_ends_in_database_unavailable_within_the_limits(
    migrated_mysql_url: str, caplog: pytest.LogCaptureFixture, turn_time_s: float, ended_by: str
) -> None:
    """Another session holds the conversation's row lock. With time to spare the InnoDB lock
    wait (half of KOPICHAT_DB_TIMEOUT_S: 1 s of 2 s here) ends it (MySQL error 1205); with less
    time left in the turn than that, the socket read is cut at the turn's deadline (2013)."""
    engine = make_engine(migrated_mysql_url, timeout_s=2.0)
    store = SqlConversationStore(engine, timeout_s=2.0)
    conv = seed(store, 1)
    locker = make_engine(migrated_mysql_url).connect()
    try:
        locker.exec_driver_sql("BEGIN")
        locker.exec_driver_sql("SELECT id FROM conversations WHERE id = %s FOR UPDATE", (conv.id,))

        async def blocked_turn() -> None:
            async with store.turn(conv.id, owner=None, window=5, lease_s=30, timeout_s=turn_time_s):
                pass

        with (
            caplog.at_level("WARNING", logger="kopichat.store"),
            pytest.raises(DatabaseUnavailable),
        ):
            asyncio.run(blocked_turn())
        assert any(ended_by in r.getMessage() for r in caplog.records), caplog.text
    finally:
        locker.rollback()
        locker.close()
        engine.dispose()


# MariaDB's per-connection statement counters: each is one round trip (a ping is an admin
# command).
_ROUND_TRIPS = (
    "Com_select",
    "Com_insert",
    "Com_update",
    "Com_delete",
    "Com_commit",
    "Com_rollback",
    "Com_admin_commands",
)


def _session_counts(engine: Engine) -> dict[str, int]:
    """The counters of the pool's one connection (the turns ran one after another on it)."""
    names = ", ".join(f"'{name}'" for name in _ROUND_TRIPS)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SHOW SESSION STATUS WHERE Variable_name IN ({names})")
        return {str(name): int(value) for name, value in rows}


@pytest.mark.mysql
def test_a_turn_is_six_round_trips_in_two_transactions(migrated_mysql_url: str) -> None:
    """Lease + one read + COMMIT before the model call, UPDATE + INSERT + COMMIT after it: no
    ping of a connection in use a moment ago, no ROLLBACK after a COMMIT."""
    engine = make_engine(migrated_mysql_url)
    store = SqlConversationStore(engine)
    conv = seed(store, 2)
    turns = 3
    before = _session_counts(engine)
    seed_more = [Message(Role.USER, f"more {n}") for n in range(turns)]

    async def take_turns() -> None:
        for user in seed_more:
            async with store.turn(conv.id, owner=None, window=5, lease_s=30, timeout_s=5) as t:
                await t.commit(user, Message(Role.BOT, "b"), None, receipt=None, timeout_s=5)

    asyncio.run(take_turns())
    after = _session_counts(engine)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedin() == 1, "the turns did not all run on one connection"
    engine.dispose()
    delta = {name.removeprefix("Com_"): after[name] - before[name] for name in _ROUND_TRIPS}
    delta["rollback"] -= 1  # the counters' own read ends with one
    assert delta == {
        "select": turns,  # the conversation and its window, together
        "insert": turns,  # both messages in one statement
        "update": 2 * turns,  # take the lease; check and clear it at the commit
        "delete": 0,
        "commit": 2 * turns,
        "rollback": 0,
        "admin_commands": 0,  # no ping
    }
