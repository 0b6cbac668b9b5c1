"""The retention command: `python -m agent.purge` (and its Lambda handler) on a real database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.adapters.sql.engine import create_schema_if_sqlite, make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.tables import conversations, idempotency_keys, messages
from agent.domain import Conversation, Message, Role, Stance
from agent.ports import IdempotentRequest
from tests.conftest import ROOT


def seed(url: str) -> tuple[str, str]:
    """One conversation idle for 100 days, one active today, and a two-day-old key."""
    engine = make_engine(url)
    create_schema_if_sqlite(engine)
    now = datetime.now(UTC)

    async def fill() -> tuple[str, str]:
        ids = []
        for age in (timedelta(days=100), timedelta(0)):
            store = SqlConversationStore(engine, now=lambda age=age: now - age)  # type: ignore[misc]
            conv = Conversation(str(uuid.uuid4()), Stance("t", "T."), "v1", now - age)
            await store.create_conversation(
                conv, Message(Role.USER, "u"), Message(Role.BOT, "b"), receipt=None, timeout_s=5
            )
            ids.append(conv.id)
        old_store = SqlConversationStore(engine, now=lambda: now - timedelta(days=2))
        await old_store.claim_key(
            IdempotentRequest("f" * 64, "", "0" * 64), lease_s=30, ttl_s=86400, timeout_s=5
        )
        return ids[0], ids[1]

    try:
        return asyncio.run(fill())
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        result = tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (conversations, messages, idempotency_keys)
        )
    engine.dispose()
    return result  # type: ignore[return-value]


def test_the_purge_command_deletes_idle_conversations_and_old_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'purge.db'}"
    seed(url)
    assert counts(url) == (2, 4, 1)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "KOPICHAT_RETENTION_DAYS": "30"}
    done = subprocess.run(
        [sys.executable, "-m", "agent.purge"],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "purged 1 conversations and 1 idempotency keys" in done.stderr
    assert counts(url) == (1, 2, 0)


def test_without_retention_only_old_keys_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.purge import handler

    url = f"sqlite:///{tmp_path / 'keep.db'}"
    seed(url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("KOPICHAT_RETENTION_DAYS", raising=False)
    result = handler({}, None)  # the scheduled Lambda's entry point
    assert result == {
        "conversations_deleted": 0,
        "idempotency_keys_deleted": 1,
        "retention_days": None,
    }
    assert counts(url) == (2, 4, 0)
