"""`python -m agent.migrate`: bring the database at DATABASE_URL to the newest schema."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agent.adapters.sql.engine import make_engine
from agent.errors import ConfigError
from agent.settings import load_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "adapters" / "sql" / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def migrate_connection(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if "conversations" in tables and "alembic_version" not in tables:
        # An SQLite file whose tables an older release created on start: adopt it at the
        # revision its tables match, then upgrade.
        columns = {c["name"] for c in inspect(connection).get_columns("conversations")}
        command.stamp(alembic_config(connection), "0002" if "owner" in columns else "0001")
    upgrade(connection)


def migrate_engine(engine: Engine) -> None:
    with engine.begin() as connection:
        migrate_connection(connection)


def migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate_engine(engine)
    finally:
        engine.dispose()


def main() -> int:
    try:
        url = load_settings().database_url
        print(f"kopichat: migrating {_redacted(url)} to the newest schema", file=sys.stderr)
        migrate(url)
    except ConfigError as exc:
        print(f"kopichat: configuration error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"kopichat: cannot reach the database: {exc.orig}", file=sys.stderr)
        return 1
    print("kopichat: schema is up to date", file=sys.stderr)
    return 0


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
