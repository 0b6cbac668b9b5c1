"""Throw-away MariaDB databases for one benchmark run, and the server counter it reads."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

DEFAULT_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def plain_engine(url: str | URL) -> Engine:
    """A small autocommit engine for the benchmark's own statements (not the apps')."""
    parsed = make_url(url)
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return create_engine(parsed, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)


def execute(url: str, sql: str, params: Sequence[dict[str, Any]] | dict[str, Any] = ()) -> None:
    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(sql), params or None)
    finally:
        engine.dispose()


def scalar(url: str, sql: str) -> Any:
    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


@dataclass
class Databases:
    """Creates `kopichat_bench_<run>_<name>` databases and drops them all at the end."""

    admin_url: URL
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    created: list[str] = field(default_factory=list)

    def create(self, name: str) -> str:
        """Create a fresh, empty database and return its SQLAlchemy URL."""
        database = f"kopichat_bench_{self.run_id}_{name}"
        execute(
            self.admin_url.render_as_string(hide_password=False),
            f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        )
        self.created.append(database)
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        engine = plain_engine(self.admin_url)
        try:
            with engine.connect() as conn:
                for database in self.created:
                    conn.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))
        finally:
            engine.dispose()
        self.created.clear()


@contextmanager
def bench_databases(admin_url: str = DEFAULT_ADMIN_URL) -> Iterator[Databases]:
    databases = Databases(make_url(admin_url))
    try:
        yield databases
    finally:
        databases.drop_all()


class RowCounter:
    """MariaDB's `Rows_read` from SHOW GLOBAL STATUS: rows read from tables by any statement,
    server-wide (temporary tables excluded; MySQL's name is `Innodb_rows_read`). Read around a
    round while only one app has work, so the delta is that app's."""

    def __init__(self, admin_url: str) -> None:
        self._engine = plain_engine(admin_url)
        self._conn = self._engine.connect()
        names = {
            str(row[0]) for row in self._conn.execute(text("SHOW GLOBAL STATUS LIKE '%rows_read'"))
        }
        self.variable = "Rows_read" if "Rows_read" in names else "Innodb_rows_read"

    def rows_read(self) -> int:
        rows = self._conn.execute(text(f"SHOW GLOBAL STATUS LIKE '{self.variable}'")).first()
        return int(rows[1]) if rows else 0

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()


def server_version(admin_url: str) -> str:
    return str(scalar(admin_url, "SELECT VERSION()"))


# Statements and commands a client sends, each one round trip (a ping is an admin command).
_ROUND_TRIPS = {
    "Com_select": "select",
    "Com_insert": "insert",
    "Com_update": "update",
    "Com_delete": "delete",
    "Com_commit": "commit",
    "Com_rollback": "rollback",
    "Com_admin_commands": "ping",
    "Com_set_option": "set",
}


class RoundTripCounter:
    """Round trips to the database server, server-wide, from MariaDB's `Com_*` counters (what
    the counter itself sends is `Com_show_status`, not counted). Read around a phase in which
    only one app has work."""

    def __init__(self, admin_url: str) -> None:
        self._engine = plain_engine(admin_url)
        self._conn = self._engine.connect()

    def read(self) -> dict[str, int]:
        names = ", ".join(f"'{name}'" for name in _ROUND_TRIPS)
        rows = self._conn.execute(
            text(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
        ).all()
        return {_ROUND_TRIPS[str(row[0])]: int(row[1]) for row in rows}

    @staticmethod
    def per_turn(before: dict[str, int], after: dict[str, int], turns: int) -> dict[str, float]:
        """Round trips per turn by kind, and their `total`; kinds with none are left out."""
        if not turns:
            return {}
        deltas = {k: (after.get(k, 0) - before.get(k, 0)) / turns for k in after}
        kept = {k: v for k, v in deltas.items() if v > 0}
        return {**kept, "total": sum(kept.values())}

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()
