"""`python -m agent.migrate`: bring the database at DATABASE_URL to the newest schema."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

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


def main() -> int:
    try:
        url = load_settings().database_url
    except ConfigError as exc:
        print(f"kopichat: {exc}", file=sys.stderr)
        return 2
    print(f"kopichat: migrating {_redacted(url)} to the newest schema", file=sys.stderr)
    upgrade()
    print("kopichat: schema is up to date", file=sys.stderr)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
