"""The conversation list on MariaDB/MySQL with 10,000 conversations of one API key: a walk
through its pages sees each exactly once, in order, and every page is a range read of
ix_conversations_owner_activity (no table scan, no filesort), so a page costs the same however
long the list is."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, insert, text
from sqlalchemy.dialects import mysql

from agent.adapters.sql.engine import make_engine
from agent.adapters.sql.store import SqlConversationStore, list_statement
from agent.adapters.sql.tables import conversations, messages
from agent.domain import ListPosition

pytestmark = pytest.mark.mysql

COUNT = 10_000
INDEX = "ix_conversations_owner_activity"
T0 = datetime(2026, 1, 1)


@dataclass
class Seeded:
    engine: Engine
    owner: str
    # (updated_at, id) of each of the owner's conversations, newest activity first.
    expected: list[tuple[datetime, str]]


@pytest.fixture(scope="module")
def seeded(migrated_mysql_url: str) -> Iterator[Seeded]:
    engine = make_engine(migrated_mysql_url)
    owner, other = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    expected: list[tuple[datetime, str]] = []
    for n in range(COUNT):
        # Three conversations share each instant: the id decides their order.
        expected.append((T0 + timedelta(seconds=n // 3), str(uuid.uuid4())))
    rows = [_row(cid, owner, at) for at, cid in expected]
    others = [_row(str(uuid.uuid4()), other, T0 + timedelta(seconds=n)) for n in range(500)]
    talked = [r["id"] for r in rows[::100]]  # a turn each, so `turns` has something to count
    with engine.begin() as conn:
        conn.execute(insert(conversations), rows + others)
        conn.execute(
            insert(messages),
            [
                {"conversation_id": cid, "seq": seq, "role": role, "content": "x", "created_at": T0}
                for cid in talked
                for seq, role in ((1, "user"), (2, "bot"))
            ],
        )
    expected.sort(reverse=True)
    try:
        yield Seeded(engine, owner, expected)
    finally:
        ids = [str(r["id"]) for r in rows + others]
        with engine.begin() as conn:
            conn.execute(delete(messages).where(messages.c.conversation_id.in_(talked)))
            conn.execute(delete(conversations).where(conversations.c.id.in_(ids)))
        engine.dispose()


def _row(cid: str, owner: str, at: datetime) -> dict[str, object]:
    return {
        "id": cid,
        "topic": f"topic {cid[:8]}",
        "thesis": "Tea wins.",
        "antithesis": None,
        "prompt_version": "v3",
        "created_at": at,
        "updated_at": at,
        "owner": owner,
    }


def test_pages_walk_all_ten_thousand_exactly_once_in_order(seeded: Seeded) -> None:
    store = SqlConversationStore(seeded.engine)

    async def walk() -> tuple[list[tuple[datetime, str]], list[int], int]:
        seen: list[tuple[datetime, str]] = []
        turns: list[int] = []
        after: ListPosition | None = None
        pages = 0
        while True:
            page = await store.list_conversations(
                owner=seeded.owner, limit=100, after=after, query=None, timeout_s=30
            )
            pages += 1
            seen += [
                (c.updated_at.replace(tzinfo=None), c.conversation.id) for c in page.conversations
            ]
            turns += [c.turns for c in page.conversations]
            after = page.next
            if after is None:
                return seen, turns, pages

    seen, turns, pages = asyncio.run(walk())
    assert pages == COUNT // 100
    assert len(seen) == COUNT
    assert seen == seeded.expected
    assert sorted(turns) == [0] * (COUNT - COUNT // 100) + [1] * (COUNT // 100)


@pytest.mark.parametrize("where", ["first page", "deep page"])
def test_a_page_is_a_range_of_the_index_without_a_filesort(seeded: Seeded, where: str) -> None:
    after = None
    if where == "deep page":
        at, cid = seeded.expected[COUNT - 150]
        after = ListPosition(at.replace(tzinfo=UTC), cid)
    statement = list_statement(seeded.owner, 21, after, None)
    sql = statement.compile(dialect=mysql.dialect(), compile_kwargs={"literal_binds": True})
    with seeded.engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN {sql}")).mappings().all()
    outer = [row for row in plan if row["table"] == "conversations"]
    assert len(outer) == 1, plan
    assert outer[0]["key"] == INDEX, plan
    assert outer[0]["type"] in ("ref", "range"), plan
    assert "filesort" not in (outer[0]["Extra"] or ""), plan
    # A conversation's turns: one primary-key lookup in messages, not a scan.
    inner = [row for row in plan if row["table"] == "messages"]
    assert all(row["key"] == "PRIMARY" or row["type"] is None for row in inner), plan
