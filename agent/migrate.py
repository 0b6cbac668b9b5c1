"""`python -m agent.migrate`: bring the database at DATABASE_URL to the newest schema.

On MySQL, one run at a time: each run holds the named lock `kopichat_migrate` (GET_LOCK) while
it migrates, so two runs that overlap (two deploys, a deploy and a hand run) take turns instead
of both applying the same revision. `--wait-s` (or KOPICHAT_MIGRATE_WAIT_S) keeps retrying to
connect for that long first: on a first deploy the database behind RDS Proxy may not accept
connections yet. MySQL's DDL is not transactional: a revision that fails half-way leaves what it
already created, and docs/deployment.md says how to repair that.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from agent.adapters.aws import PasswordSource, database_password_source
from agent.adapters.sql.engine import make_engine
from agent.errors import ConfigError
from agent.settings import load_settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "adapters" / "sql" / "migrations"
LOCK_NAME = "kopichat_migrate"
DEFAULT_LOCK_TIMEOUT_S = 240.0
# Limits of the migration's own engine, not the service's (KOPICHAT_DB_TIMEOUT_S, 3 s): a run
# waits in GET_LOCK for up to its lock timeout, and one DDL statement on a big table may take
# minutes. With the service's read timeout both ended in error 2013 (Lost connection).
CONNECT_TIMEOUT_S = 10.0
STATEMENT_TIMEOUT_S = 300.0


class MigrationLocked(Exception):
    """Another migration held the lock for longer than this run would wait."""


class _AlembicChatter(logging.Filter):
    """Alembic's set-up chatter, kept out of the log unless the log level is debug: one INFO
    line per plugin it sets up when imported ("setup plugin alembic.autogenerate.*", seven of
    them) and two about its SQL dialect on every run. Its "Running upgrade" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        if record.name == "alembic.runtime.plugins":
            return False
        return not record.getMessage().startswith(("Context impl ", "Will assume "))


def _filter_alembic_chatter() -> None:
    """Called before alembic is first imported (here, lazily), which logs the plugin lines."""
    for name in ("alembic.runtime.plugins", "alembic.runtime.migration"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _AlembicChatter) for f in logger.filters):
            logger.addFilter(_AlembicChatter())


def alembic_config(connection: Connection | None = None) -> Config:
    _filter_alembic_chatter()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection | None = None, revision: str = "head") -> None:
    config = alembic_config(connection)
    from alembic import command

    command.upgrade(config, revision)


def migrate_connection(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if "conversations" in tables and "alembic_version" not in tables:
        # An SQLite file whose tables an older release created on start: adopt it at the
        # revision its tables match, then upgrade.
        columns = {c["name"] for c in inspect(connection).get_columns("conversations")}
        indexes = (
            {i["name"] for i in inspect(connection).get_indexes("idempotency_keys")}
            if ("idempotency_keys" in tables)
            else set()
        )
        adopted = (
            "0004"
            if "ix_idempotency_keys_target" in indexes
            else "0003"
            if "antithesis" in columns
            else "0002"
            if "owner" in columns
            else "0001"
        )
        config = alembic_config(connection)
        from alembic import command

        command.stamp(config, adopted)
    upgrade(connection)


def migration_engine(
    url: str,
    *,
    password_source: PasswordSource | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> Engine:
    """An engine for migrating: each read and write on the socket may take STATEMENT_TIMEOUT_S,
    and longer than the wait for the migration lock. It sets its own InnoDB lock wait (half of
    that) on each connection whatever KOPICHAT_DB_SESSION_INIT says: behind RDS Proxy the
    connection that holds GET_LOCK is pinned anyway, and a run lasts seconds."""
    return make_engine(
        url,
        CONNECT_TIMEOUT_S,
        password_source=password_source,
        session_init=True,
        statement_timeout_s=max(STATEMENT_TIMEOUT_S, lock_timeout_s + 30.0),
    )


def migrate_engine(engine: Engine) -> None:
    """Bring the database behind `engine` to the newest schema (SQLite does it on start)."""
    with engine.begin() as connection:
        migrate_connection(connection)


def wait_for_database(
    engine: Engine,
    wait_s: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Connect once, retrying for up to ``wait_s`` seconds; the number of attempts it took."""
    give_up = clock() + wait_s
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.connect():
                return attempt
        except OperationalError as exc:
            left = give_up - clock()
            if left <= 0:
                raise
            print(
                f"kopichat: the database does not answer yet ({exc.orig}); retrying",
                file=sys.stderr,
            )
            sleep(min(5.0, left))


@contextmanager
def migration_lock(engine: Engine, timeout_s: float) -> Iterator[None]:
    """MySQL's named lock `kopichat_migrate`, held on a connection of its own; none on SQLite."""
    if engine.dialect.name == "sqlite":
        yield
        return
    with engine.connect() as holder:
        got = holder.execute(
            text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": LOCK_NAME, "timeout": max(0, round(timeout_s))},
        ).scalar()
        if got != 1:
            raise MigrationLocked(
                f"another migration has held the lock {LOCK_NAME!r} for over {timeout_s:.0f} s"
            )
        try:
            yield
        finally:
            holder.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})


def migrate(
    url: str,
    *,
    password_source: PasswordSource | None = None,
    wait_s: float = 0.0,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> None:
    engine = migration_engine(url, password_source=password_source, lock_timeout_s=lock_timeout_s)
    try:
        wait_for_database(engine, wait_s)
        with migration_lock(engine, lock_timeout_s), engine.begin() as connection:
            migrate_connection(connection)
    finally:
        engine.dispose()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agent.migrate", description=__doc__)
    parser.add_argument(
        "--wait-s",
        type=float,
        default=float(os.environ.get("KOPICHAT_MIGRATE_WAIT_S") or 0),
        help="keep retrying to connect for this long (default: KOPICHAT_MIGRATE_WAIT_S or 0)",
    )
    parser.add_argument(
        "--lock-timeout-s",
        type=float,
        default=DEFAULT_LOCK_TIMEOUT_S,
        help="wait this long for another run's lock (MySQL; default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        settings = load_settings()
        url = settings.database_url
        print(f"kopichat: migrating {_redacted(url)} to the newest schema", file=sys.stderr)
        migrate(
            url,
            password_source=database_password_source(settings),
            wait_s=args.wait_s,
            lock_timeout_s=args.lock_timeout_s,
        )
    except ConfigError as exc:
        print(f"kopichat: configuration error: {exc}", file=sys.stderr)
        return 2
    except MigrationLocked as exc:
        print(f"kopichat: {exc}; try again when it has finished", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"kopichat: cannot reach the database: {exc.orig}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"kopichat: a migration failed: {exc}\n"
            "kopichat: MySQL applies DDL at once, so a revision may be half applied; see "
            '"Repairing a half-applied migration" in docs/deployment.md',
            file=sys.stderr,
        )
        return 1
    print("kopichat: schema is up to date", file=sys.stderr)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
