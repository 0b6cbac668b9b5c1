"""Engine construction, once per process (warm Lambdas reuse it).

Every wait on the database is bounded by `timeout_s` (KOPICHAT_DB_TIMEOUT_S): the pool checkout,
the connect, each read and write on the socket, and the InnoDB lock wait (half of it, in whole
seconds, at least 1). The store tightens the socket timeouts further to the time its turn has
left (see `limit_statements`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from agent.errors import ConfigError

_DEADLINE = "kopichat_deadline"
# Below this a statement cannot finish anyway; PyMySQL needs a positive timeout.
_MIN_STATEMENT_S = 0.05


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(
    url: str,
    timeout_s: float = 3.0,
    *,
    password_source: Callable[[str, int, str], str] | None = None,
) -> Engine:
    """``timeout_s``: the limit of each database wait (KOPICHAT_DB_TIMEOUT_S).
    ``password_source``: called for each new MySQL connection (host, port, user) for its
    password, e.g. an RDS IAM auth token, which expires after 15 minutes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL: not a database URL (expected mysql+pymysql://... or sqlite:///...)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": timeout_s},  # busy timeout
            pool_timeout=timeout_s,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend in {"mysql", "mariadb"}:
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        # Half the limit (whole seconds, at least 1), so a lock wait ends as MySQL's own error
        # 1205, with the connection still usable, before the socket read times out.
        lock_wait = max(1, math.ceil(timeout_s / 2))
        # pre_ping and recycle: RDS Proxy and MySQL close idle connections under a frozen Lambda.
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_recycle=280,
            pool_size=8,
            max_overflow=8,
            pool_timeout=timeout_s,
            connect_args={
                "connect_timeout": timeout_s,
                "read_timeout": timeout_s,
                "write_timeout": timeout_s,
                "init_command": f"SET SESSION innodb_lock_wait_timeout = {lock_wait}",
            },
        )
        event.listen(engine, "before_cursor_execute", _socket_timeouts_within(timeout_s))
        if password_source is not None:
            _fresh_password_per_connection(engine, password_source)
        return engine
    raise ConfigError(f"DATABASE_URL: unsupported database '{backend}' (use MySQL or SQLite)")


@contextmanager
def limit_statements(conn: Connection, timeout_s: float) -> Iterator[None]:
    """Statements on `conn` inside this block end by `timeout_s` from now: each read and write
    on the socket gets at most the time left (on top of the engine's own per-read limit)."""
    conn.info[_DEADLINE] = time.monotonic() + timeout_s
    try:
        yield
    finally:
        # A connection broken inside the block refuses even this (and is thrown away anyway):
        # the block's own error is the one that matters.
        with suppress(SQLAlchemyError):
            conn.info.pop(_DEADLINE, None)


def _socket_timeouts_within(limit_s: float) -> Callable[..., None]:
    def tighten(conn: Connection, *_args: Any) -> None:
        deadline = conn.info.get(_DEADLINE)
        dbapi = conn.connection.dbapi_connection
        if not hasattr(dbapi, "_read_timeout"):
            return  # not PyMySQL
        timeout = limit_s
        if deadline is not None:
            timeout = min(limit_s, max(deadline - time.monotonic(), _MIN_STATEMENT_S))
        # PyMySQL applies these at its next socket read or write (the COMMIT's included).
        dbapi._read_timeout = dbapi._write_timeout = timeout  # type: ignore[union-attr]

    return tighten


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
    """SQLite is the embedded default and brings its schema up to date on start (through the
    same migrations as MySQL); MySQL is migrated by `make migrate` / the migration function."""
    if engine.dialect.name == "sqlite":
        from agent.migrate import migrate_engine

        migrate_engine(engine)
