"""Engine construction, once per process (warm Lambdas reuse it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from agent.adapters.sql.tables import metadata
from agent.errors import ConfigError


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(
    url: str, *, password_source: Callable[[str, int, str], str] | None = None
) -> Engine:
    """``password_source``: called for each new MySQL connection (host, port, user) for its
    password, e.g. an RDS IAM auth token, which expires after 15 minutes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL: not a database URL (expected mysql+pymysql://... or sqlite:///...)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend in {"mysql", "mariadb"}:
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        # pre_ping and recycle: RDS Proxy and MySQL close idle connections under a frozen Lambda.
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_recycle=280, pool_size=8, max_overflow=8
        )
        if password_source is not None:
            _fresh_password_per_connection(engine, password_source)
        return engine
    raise ConfigError(f"DATABASE_URL: unsupported database '{backend}' (use MySQL or SQLite)")


def _fresh_password_per_connection(
    engine: Engine, password_source: Callable[[str, int, str], str]
) -> None:
    def set_password(
        _dialect: object, _record: object, _cargs: object, cparams: dict[str, Any]
    ) -> None:
        cparams["password"] = password_source(
            str(cparams["host"]), int(cparams.get("port", 3306)), str(cparams["user"])
        )

    event.listen(engine, "do_connect", set_password)


def _sqlite_pragmas(dbapi_connection: object, _entry: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_schema_if_sqlite(engine: Engine) -> None:
    """SQLite is the embedded default and creates its tables on start; MySQL uses migrations."""
    if engine.dialect.name == "sqlite":
        metadata.create_all(engine)
