"""`agent.migrate` on MariaDB: one run at a time (GET_LOCK), and waiting for the database."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agent.adapters.sql.engine import make_engine
from agent.migrate import LOCK_NAME, MigrationLocked, migrate, wait_for_database
from tests.conftest import DEFAULT_MYSQL_URL, free_port

pytestmark = pytest.mark.mysql


@pytest.fixture
def empty_db(mysql_url: str) -> Iterator[str]:
    """A database of its own, with no tables (mysql_url makes sure the server answers)."""
    admin = create_engine(mysql_url)
    name = f"kopichat_mig_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def waiting_for_lock(url: str) -> bool:
    """Whether some session of the server is inside GET_LOCK('kopichat_migrate', ...)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT INFO FROM information_schema.PROCESSLIST")).all()
    finally:
        engine.dispose()
    return any(row[0] and "GET_LOCK" in row[0] for row in rows)


def test_a_second_run_waits_for_the_first_ones_lock(empty_db: str) -> None:
    holder = create_engine(empty_db)
    with holder.connect() as conn:
        assert conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": LOCK_NAME}).scalar() == 1
        errors: list[BaseException] = []

        def run() -> None:
            try:
                migrate(empty_db, lock_timeout_s=120)
            except BaseException as exc:  # reported below
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 60  # hang guard only
        while not waiting_for_lock(empty_db):
            assert worker.is_alive(), errors
            assert time.monotonic() < deadline, "the migration never asked for the lock"
            time.sleep(0.05)
        assert "alembic_version" not in tables(empty_db), "it migrated without the lock"
        conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": LOCK_NAME})
    holder.dispose()
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert errors == []
    assert {"alembic_version", "conversations", "messages"} <= tables(empty_db)


def test_a_run_outwaits_a_lock_held_longer_than_the_turns_read_timeout(empty_db: str) -> None:
    """The service's engine gives up on a socket read after 3 s (KOPICHAT_DB_TIMEOUT_S); a
    migration waiting in GET_LOCK, or running a slow DDL statement, must not."""
    held_s = 5.0  # longer than the service's 3 s read timeout
    holder = create_engine(empty_db)
    with holder.connect() as conn:
        assert conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": LOCK_NAME}).scalar() == 1

        def release_later() -> None:
            # The holder's own thread sleeps while the lock is held; the release is the only
            # statement on its connection meanwhile.
            time.sleep(held_s)
            conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": LOCK_NAME})

        releaser = threading.Thread(target=release_later)
        releaser.start()
        try:
            migrate(empty_db)
        finally:
            releaser.join(timeout=60)
    holder.dispose()
    assert {"alembic_version", "conversations", "messages"} <= tables(empty_db)


def test_a_slow_statement_in_a_migration_is_not_cut_off(empty_db: str) -> None:
    """A DDL statement of a revision may take longer than the service's read timeout."""
    from agent.migrate import migration_engine

    engine = migration_engine(empty_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT SLEEP(4)")).scalar() == 0
    finally:
        engine.dispose()


def test_a_lock_held_too_long_fails_clearly(empty_db: str) -> None:
    holder = create_engine(empty_db)
    with holder.connect() as conn:
        conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": LOCK_NAME})
        with pytest.raises(MigrationLocked, match=LOCK_NAME):
            migrate(empty_db, lock_timeout_s=1)
    holder.dispose()
    assert "alembic_version" not in tables(empty_db)


def test_runs_one_after_the_other_both_succeed(empty_db: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(empty_db)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    engine = create_engine(empty_db)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(versions) == 1


class _Forwarder:
    """A TCP forwarder on loopback to the MariaDB server, started when the test says so."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server: socket.socket | None = None

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, dest: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                dest.sendall(data)
        except OSError:
            return
        finally:
            for sock in (source, dest):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_the_migration_waits_for_a_database_that_comes_up_late(empty_db: str) -> None:
    real = make_url(empty_db)
    forwarder = _Forwarder(free_port(), (real.host or "127.0.0.1", real.port or 3306))
    late = real.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    naps: list[float] = []

    def nap(seconds: float) -> None:  # the database comes up while the migration waits
        naps.append(seconds)
        if len(naps) == 2:
            forwarder.start()

    engine = make_engine(late)
    try:
        assert wait_for_database(engine, wait_s=120, sleep=nap) == 3
    finally:
        engine.dispose()
        forwarder.close()
    assert len(naps) == 2


def test_waiting_gives_up_after_its_time() -> None:
    clock = [0.0]

    def nap(seconds: float) -> None:
        clock[0] += seconds

    closed = make_url(os.environ.get("KOPICHAT_TEST_MYSQL_URL", DEFAULT_MYSQL_URL))
    engine = make_engine(closed.set(port=free_port()).render_as_string(hide_password=False))
    try:
        with pytest.raises(OperationalError):
            wait_for_database(engine, wait_s=12, sleep=nap, clock=lambda: clock[0])
    finally:
        engine.dispose()
    assert clock[0] == pytest.approx(12.0)


def test_deleting_a_conversations_keys_uses_an_index_not_a_table_scan(empty_db: str) -> None:
    """Deleting a conversation (and each purge batch) finds its idempotency keys by `target` and
    by `conversation_id`; a full scan would lock every row of the table on InnoDB, and other
    users' key claims would wait into the lock timeout."""
    from agent.migrate import migrate

    migrate(empty_db)
    engine = create_engine(empty_db)
    try:
        with engine.connect() as conn:
            for column, index in (
                ("target", "ix_idempotency_keys_target"),
                ("conversation_id", "ix_idempotency_keys_conversation_id"),
            ):
                plan = (
                    conn.execute(
                        text(f"EXPLAIN DELETE FROM idempotency_keys WHERE {column} IN ('a', 'b')")
                    )
                    .mappings()
                    .one()
                )
                assert plan["type"] != "ALL", plan
                assert plan["key"] == index, plan
    finally:
        engine.dispose()
