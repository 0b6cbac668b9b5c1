"""The TurnStreams port over SQLAlchemy Core: events of streamed turns, and cancel.

Events are written in batches (the caller decides when) and read by a resuming client, which
polls; one turn's events are kept per conversation (the next turn's first write deletes them)
and none older than 15 minutes is replayed. Cancel takes the running turn's lease away and
notes its token in `turn_cancelled`: the conversation is free at once, and the cancelled turn
can no longer commit (SqlConversationStore refuses a commit whose lease is gone, and reports
TurnCancelled when the token matches).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from agent.adapters.sql.store import STREAM_EVENTS_KEPT_S, SqlConversationStore
from agent.adapters.sql.tables import conversations, stream_events
from agent.errors import ConversationNotFound
from agent.ports import Replay, StreamEvent

_OWNER_AND_LEASE = select(
    conversations.c.owner,
    conversations.c.turn_lease,
    conversations.c.turn_lease_until,
    conversations.c.turn_cancelled,
).where(conversations.c.id == bindparam("cid"))
_INSERT = insert(stream_events)
_EVENTS = (
    select(stream_events.c.turn, stream_events.c.n, stream_events.c.event, stream_events.c.data)
    .where(
        stream_events.c.conversation_id == bindparam("cid"),
        stream_events.c.created_at >= bindparam("since"),
    )
    .order_by(stream_events.c.created_at, stream_events.c.n)
)
_EVENTS_OF_TURN = _EVENTS.where(
    stream_events.c.turn == bindparam("turn"), stream_events.c.n > bindparam("after")
)
_OTHER_TURNS = delete(stream_events).where(
    stream_events.c.conversation_id == bindparam("cid"), stream_events.c.turn != bindparam("turn")
)


class SqlTurnStreams:
    def __init__(self, store: SqlConversationStore, *, now: Callable[[], datetime] | None = None):
        self._store = store
        self._now = now or (lambda: datetime.now(UTC))

    def _naive_now(self) -> datetime:
        return self._now().astimezone(UTC).replace(tzinfo=None)

    async def record(
        self,
        conversation_id: str,
        turn: str,
        events: list[StreamEvent],
        *,
        first: bool,
        check_lease: bool,
        timeout_s: float,
    ) -> bool:
        return await self._store._run(
            lambda: self._record(conversation_id, turn, events, first, check_lease, timeout_s)
        )

    def _record(
        self,
        conversation_id: str,
        turn: str,
        events: list[StreamEvent],
        first: bool,
        check_lease: bool,
        timeout_s: float,
    ) -> bool:
        now = self._naive_now()
        with self._store._transaction(timeout_s) as conn:
            row = conn.execute(_OWNER_AND_LEASE, {"cid": conversation_id}).one_or_none()
            if row is None:  # deleted meanwhile: keep none of its text (the turn fails anyway)
                return True
            if first:
                conn.execute(_OTHER_TURNS, {"cid": conversation_id, "turn": turn})
            if events:
                conn.execute(
                    _INSERT,
                    [
                        {
                            "conversation_id": conversation_id,
                            "turn": turn,
                            "n": e.n,
                            "event": e.name,
                            "data": e.data,
                            "created_at": now,
                        }
                        for e in events
                    ],
                )
            if not check_lease:
                return True
        # Cancelled: the lease is gone and a cancel took it (a turn that ended normally leaves
        # turn_cancelled empty: taking a lease clears it).
        return not (row.turn_lease is None and row.turn_cancelled)

    async def replay(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        turn: str | None,
        after: int,
        timeout_s: float,
    ) -> Replay:
        return await self._store._run(
            lambda: self._replay(conversation_id, owner, turn, after, timeout_s)
        )

    def _replay(
        self,
        conversation_id: str,
        owner: str | None,
        turn: str | None,
        after: int,
        timeout_s: float,
    ) -> Replay:
        now = self._naive_now()
        since = now - timedelta(seconds=STREAM_EVENTS_KEPT_S)
        with self._store._reading(timeout_s) as conn:
            row = _owned(conn, conversation_id, owner)
            params = {"cid": conversation_id, "since": since}
            if turn is None:
                rows = conn.execute(_EVENTS, params).all()
            else:
                rows = conn.execute(_EVENTS_OF_TURN, {**params, "turn": turn, "after": after}).all()
        running = row.turn_lease is not None and (
            row.turn_lease_until is not None and row.turn_lease_until >= now
        )
        return Replay(
            events=[(r.turn, StreamEvent(r.n, r.event, r.data)) for r in rows], running=running
        )

    async def cancel(self, conversation_id: str, *, owner: str | None, timeout_s: float) -> bool:
        return await self._store._run(lambda: self._cancel(conversation_id, owner, timeout_s))

    def _cancel(self, conversation_id: str, owner: str | None, timeout_s: float) -> bool:
        now = self._naive_now()
        with self._store._transaction(timeout_s) as conn:
            row = _owned(conn, conversation_id, owner)
            token = row.turn_lease
            if token is None or row.turn_lease_until is None or row.turn_lease_until < now:
                return False
            taken = conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.turn_lease == token)
                .values(turn_cancelled=token, turn_lease=None, turn_lease_until=None)
            ).rowcount
            return bool(taken == 1)


def _owned(conn: Connection, conversation_id: str, owner: str | None) -> Any:
    row = conn.execute(_OWNER_AND_LEASE, {"cid": conversation_id}).one_or_none()
    if row is None or (owner is not None and row.owner != owner):
        raise ConversationNotFound(conversation_id)
    return row
