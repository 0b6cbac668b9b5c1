"""Alembic environment: the URL comes from Kopichat's settings (DATABASE_URL), or a connection
handed in by `agent.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from agent.adapters.aws import database_password_source
from agent.adapters.sql.tables import metadata
from agent.migrate import migration_engine
from agent.settings import load_settings


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _migrate(given)
else:
    settings = load_settings()
    engine = migration_engine(
        settings.database_url, password_source=database_password_source(settings)
    )
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()
