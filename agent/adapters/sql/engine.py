"""Engine construction, once per process (warm Lambdas reuse it).

Every wait on the database is bounded by `timeout_s` (KOPICHAT_DB_TIMEOUT_S): the pool checkout,
the connect, each read and write on the socket, and the InnoDB lock wait (half of it, in whole
seconds, at least 1). The store tightens the socket timeouts further to the time its turn has
left (see `limit_statements`).

The lock wait is set per connection (the driver's init_command, a session-level SET) unless
`session_init` is off (KOPICHAT_DB_SESSION_INIT=off). Behind RDS Proxy that SET would pin every
client connection to one database connection for its life, so the template turns it off there
and the proxy's target group sets the same value with its InitQuery on each database connection
it opens.

`ssl_ca=certifi` in a MySQL URL stands for the CA bundle of the certifi package (see `CERTIFI`).

Round trips (MySQL): a connection taken from the pool is pinged first only when it may have
gone stale, that is when it sat idle for `PING_AFTER_IDLE_S` or longer (MySQL, RDS Proxy and a
frozen Lambda drop idle connections) or a database error happened since it was last used; a
busy service skips the ping. A connection goes back to the pool with a ROLLBACK only when its
last transaction was not already ended by a COMMIT or ROLLBACK. Together that is four round
trips fewer per turn than SQLAlchemy's `pool_pre_ping` and rollback-on-return.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from agent.adapters.aws import database_password_source
from agent.errors import ConfigError
from agent.settings import Settings

_DEADLINE = "kopichat_deadline"
# DATABASE_URL's ssl_ca=certifi: the CA bundle of the certifi package, wherever it is installed
# (the Lambda image ships it; a system path like /etc/pki/tls/certs/ca-bundle.crt may be absent).
CERTIFI = "certifi"
# Below this a statement cannot finish anyway; PyMySQL needs a positive timeout.
_MIN_STATEMENT_S = 0.05
# A pooled connection idle this long is pinged before use; see the module's docstring.
PING_AFTER_IDLE_S = 1.0
_LAST_USED = "kopichat_last_used"
_OPEN_TRANSACTION = "kopichat_open_transaction"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def certifi_bundle() -> str:
    """The path of the CA bundle that the certifi package ships (Mozilla's roots)."""
    try:
        import certifi
    except ImportError:
        raise ConfigError(
            "DATABASE_URL: ssl_ca=certifi needs the certifi package "
            "(install the aws extra: pip install 'kopichat[aws]')"
        ) from None
    return str(certifi.where())


def lock_wait_s(statement_timeout_s: float) -> int:
    """The InnoDB lock wait for statements limited to ``statement_timeout_s``: half of it, in
    whole seconds, at least 1. A lock wait then ends as MySQL's own error 1205, with the
    connection still usable, before the socket read times out."""
    return max(1, math.ceil(statement_timeout_s / 2))


def engine_from_settings(settings: Settings) -> Engine:
    """The engine the service and the purge use: DATABASE_URL with its limits, IAM auth tokens
    and the session init as the settings say."""
    return make_engine(
        settings.database_url,
        settings.db_timeout_s,
        password_source=database_password_source(settings),
        session_init=settings.db_session_init,
    )


def make_engine(
    url: str,
    timeout_s: float = 3.0,
    *,
    password_source: Callable[[str, int, str], str] | None = None,
    session_init: bool = True,
    statement_timeout_s: float | None = None,
) -> Engine:
    """``timeout_s``: the limit of each database wait (KOPICHAT_DB_TIMEOUT_S).
    ``password_source``: called for each new MySQL connection (host, port, user) for its
    password, e.g. an RDS IAM auth token, which expires after 15 minutes.
    ``session_init``: set the InnoDB lock wait on each new MySQL connection (off behind RDS
    Proxy, where the proxy sets it; see the module's docstring).
    ``statement_timeout_s``: the limit of each read and write on the socket, when it must be
    longer than ``timeout_s`` (the migrations: DDL, and waiting for the migration lock)."""
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
        if parsed.query.get("ssl_ca") == CERTIFI:
            parsed = parsed.update_query_dict({"ssl_ca": certifi_bundle()})
        io_timeout = statement_timeout_s if statement_timeout_s is not None else timeout_s
        connect_args: dict[str, Any] = {
            "connect_timeout": timeout_s,
            "read_timeout": io_timeout,
            "write_timeout": io_timeout,
        }
        if session_init:
            connect_args["init_command"] = (
                f"SET SESSION innodb_lock_wait_timeout = {lock_wait_s(io_timeout)}"
            )
        # recycle and the ping after idling: RDS Proxy and MySQL close idle connections under a
        # frozen Lambda. The reset on return is the listener's (see _skip_needless_round_trips).
        engine = create_engine(
            parsed,
            pool_recycle=280,
            pool_reset_on_return=None,
            pool_size=8,
            max_overflow=8,
            pool_timeout=timeout_s,
            connect_args=connect_args,
        )
        event.listen(engine, "before_cursor_execute", _socket_timeouts_within(io_timeout))
        _skip_needless_round_trips(engine)
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


def _skip_needless_round_trips(engine: Engine) -> None:
    """Ping only connections that may be stale; roll back only open transactions."""
    health = {"error_at": 0.0}  # monotonic time of the engine's last database error

    def in_use(conn: Connection, *_args: Any) -> None:
        conn.info[_OPEN_TRANSACTION] = True

    def ended(conn: Connection) -> None:  # commit and rollback, before the driver's call
        # An invalidated connection refuses `info`; the pool discards it anyway.
        with suppress(SQLAlchemyError):
            conn.info[_OPEN_TRANSACTION] = False

    def failed(context: Any) -> None:
        health["error_at"] = time.monotonic()
        connection = getattr(context, "connection", None)
        if connection is not None:
            with suppress(SQLAlchemyError):
                connection.info[_OPEN_TRANSACTION] = True  # whatever happened: roll back

    def checkout(dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        now = time.monotonic()
        if last_used is None or (
            now - last_used < PING_AFTER_IDLE_S and last_used > health["error_at"]
        ):
            return  # new (just connected), or in use a moment ago with no error since
        try:
            dbapi.ping(reconnect=False)
        except Exception as exc:
            # The pool throws this connection away and checks out another one.
            raise DisconnectionError(f"stale pooled connection ({type(exc).__name__})") from exc

    def reset(dbapi: Any, record: ConnectionPoolEntry, state: PoolResetState) -> None:
        record.info[_LAST_USED] = time.monotonic()
        if state.transaction_was_reset or not record.info.get(_OPEN_TRANSACTION, True):
            return
        dbapi.rollback()  # a failure here makes the pool discard the connection
        record.info[_OPEN_TRANSACTION] = False

    event.listen(engine, "before_cursor_execute", in_use)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    event.listen(engine, "handle_error", failed)
    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine.pool, "reset", reset)


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
