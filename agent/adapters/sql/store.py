"""The ConversationStore port over SQLAlchemy Core.

Concurrency: a turn takes a short *lease* on its conversation (a token and an expiry written by
one conditional UPDATE) before the model call, and no transaction or lock is held while the model
thinks. Committing checks the token, so a second request for the same conversation gets
TurnInProgress instead of interleaving; the (conversation_id, seq) primary key backs that up.
A crashed turn's lease simply expires.

Failures: any database error or timeout becomes DatabaseUnavailable (a missing schema becomes
ConfigError); every write is one transaction, so a failed step stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    PendingRollbackError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from agent.adapters.sql.engine import limit_statements
from agent.adapters.sql.tables import conversations, idempotency_keys, messages, stream_events
from agent.domain import (
    Conversation,
    ConversationList,
    ConversationSummary,
    ListPosition,
    Message,
    PurgeReport,
    Role,
    Stance,
    TranscriptPage,
    TurnResult,
)
from agent.errors import (
    ConfigError,
    ConversationNotFound,
    DatabaseUnavailable,
    IdempotencyKeyInUse,
    KopichatError,
    TurnCancelled,
    TurnInProgress,
)
from agent.ports import Claimed, IdempotentRequest, Receipt, SeenBefore

T = TypeVar("T")
log = logging.getLogger("kopichat.store")
_PURGE_BATCH = 200
# Events of streamed turns are replayed for 15 minutes (agent/adapters/sql/turn_streams.py).
STREAM_EVENTS_KEPT_S = 15 * 60.0

# Statements are built once, not per turn: SQLAlchemy then finds their compiled form in its cache.
_TAKE_LEASE = (
    update(conversations)
    .where(
        conversations.c.id == bindparam("cid"),
        or_(
            conversations.c.turn_lease_until.is_(None),
            conversations.c.turn_lease_until < bindparam("now"),
        ),
    )
    .values(turn_lease=bindparam("token"), turn_lease_until=bindparam("until"), turn_cancelled=None)
)
_TAKE_OWN_LEASE = _TAKE_LEASE.where(conversations.c.owner == bindparam("b_owner"))
_CONVERSATION = select(
    conversations.c.topic,
    conversations.c.thesis,
    conversations.c.antithesis,
    conversations.c.prompt_version,
    conversations.c.created_at,
    conversations.c.owner,
).where(conversations.c.id == bindparam("cid"))
# The newest `window` messages; (conversation_id, seq) is the primary key, so this is an index
# range read of `window` rows however long the conversation is.
_WINDOW = (
    select(messages.c.seq, messages.c.role, messages.c.content)
    .where(messages.c.conversation_id == bindparam("cid"))
    .order_by(messages.c.seq.desc())
    .limit(bindparam("window", literal_execute=True, type_=Integer()))
)
_PAGE_BEFORE = _WINDOW.where(messages.c.seq < bindparam("before"))
# A turn's read, one round trip: the conversation with its newest `window` messages (one row per
# message, newest first; one row with no message when there is none).
_RECENT = _WINDOW.add_columns(messages.c.conversation_id).subquery("recent")
_CONVERSATION_AND_WINDOW = (
    select(
        *_CONVERSATION.selected_columns,
        _RECENT.c.seq,
        _RECENT.c.role,
        _RECENT.c.content,
    )
    .select_from(conversations.outerjoin(_RECENT, _RECENT.c.conversation_id == conversations.c.id))
    .where(conversations.c.id == bindparam("cid"))
    .order_by(_RECENT.c.seq.desc())
)
_LAST_SEQ = (
    select(messages.c.seq)
    .where(messages.c.conversation_id == bindparam("cid"))
    .order_by(messages.c.seq.desc())
    .limit(1)
)
_HELD_BY = (
    conversations.c.id == bindparam("cid"),
    conversations.c.turn_lease == bindparam("token"),
)
_END_TURN = (
    update(conversations)
    .where(*_HELD_BY)
    .values(turn_lease=None, turn_lease_until=None, updated_at=bindparam("at"))
)
_END_OPENING_TURN = _END_TURN.values(
    topic=bindparam("topic"), thesis=bindparam("thesis"), antithesis=bindparam("antithesis")
)
_RELEASE = update(conversations).where(*_HELD_BY).values(turn_lease=None, turn_lease_until=None)
_REPLACE_REPLY = (
    update(messages)
    .where(
        messages.c.conversation_id == bindparam("cid"),
        messages.c.seq == bindparam("b_seq"),
        messages.c.role == Role.BOT.value,
    )
    .values(content=bindparam("content"), created_at=bindparam("at"))
)
# The conversation list: its rows come from ix_conversations_owner_activity in index order.
# A conversation's last seq is one primary-key lookup, however many messages it has.
_LAST_SEQ_OF_EACH = (
    select(func.max(messages.c.seq))
    .where(messages.c.conversation_id == conversations.c.id)
    .scalar_subquery()
)
_LIST = select(
    conversations.c.id,
    *_CONVERSATION.selected_columns,
    conversations.c.updated_at,
    _LAST_SEQ_OF_EACH.label("last_seq"),
).order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
_EXISTS = select(conversations.c.id, conversations.c.turn_cancelled).where(
    conversations.c.id == bindparam("cid")
)
_INSERT_MESSAGES = insert(messages)
_INSERT_CONVERSATION = insert(conversations)
_INSERT_KEY = insert(idempotency_keys)
_RELEASE_KEY = delete(idempotency_keys).where(
    idempotency_keys.c.key_hash == bindparam("key"),
    idempotency_keys.c.token == bindparam("claim_token"),
    idempotency_keys.c.response.is_(None),
)
_KEY_ROW = select(
    idempotency_keys.c.target,
    idempotency_keys.c.message_hash,
    idempotency_keys.c.locked_until,
    idempotency_keys.c.response,
    idempotency_keys.c.created_at,
).where(idempotency_keys.c.key_hash == bindparam("key"))
_KEY_HELD = (
    idempotency_keys.c.key_hash == bindparam("key"),
    idempotency_keys.c.token == bindparam("claim_token"),
)
_COMPLETE_KEY = (
    update(idempotency_keys)
    .where(*_KEY_HELD)
    .values(
        response=bindparam("response"),
        conversation_id=bindparam("cid"),
        token=None,
        locked_until=None,
    )
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _naive(at: datetime) -> datetime:
    # Stored naive, always UTC: MySQL DATETIME has no zone.
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC)


@dataclass
class _SqlTurn:
    """The Turn port: a conversation held by this store's lease `token`."""

    store: SqlConversationStore
    conversation: Conversation
    recent: list[Message]
    last_seq: int
    token: str
    committed: bool = field(default=False)

    @property
    def turns_taken(self) -> int:
        return self.last_seq // 2

    async def commit(
        self,
        user: Message,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        store = self.store
        await store._run(lambda: store._commit(self, user, bot, new_stance, receipt, timeout_s))
        self.committed = True

    async def replace_reply(
        self,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        store = self.store
        await store._run(lambda: store._commit(self, None, bot, new_stance, receipt, timeout_s))
        self.committed = True


class SqlConversationStore:
    def __init__(
        self,
        engine: Engine,
        *,
        now: Callable[[], datetime] = _utcnow,
        timeout_s: float = 3.0,
    ) -> None:
        self._engine = engine
        self._now = now
        self._timeout_s = timeout_s  # for clean-up steps that have no turn deadline of their own
        # Leases whose release failed (database down): given back before the next turn, so
        # the conversation is free as soon as the database is back, not only when they expire.
        self._unreleased: dict[str, str] = {}

    # The port is async; SQLAlchemy here is sync, so each call runs on a worker thread and the
    # event loop keeps serving other requests.
    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except KopichatError:
            raise
        except ProgrammingError as exc:
            log.error("database schema problem: %s %s", type(exc).__name__, _code(exc))
            raise ConfigError(
                "DATABASE_URL: the database lacks Kopichat's schema (run make migrate)"
            ) from None
        except (DBAPIError, PoolTimeout, PendingRollbackError, DisconnectionError, OSError) as exc:
            log.warning("database failure: %s %s", type(exc).__name__, _code(exc))
            raise DatabaseUnavailable(
                f"the database is unavailable ({type(exc).__name__})"
            ) from None

    @contextmanager
    def _transaction(self, timeout_s: float) -> Iterator[Connection]:
        with self._engine.begin() as conn, limit_statements(conn, timeout_s):
            yield conn

    @contextmanager
    def _reading(self, timeout_s: float) -> Iterator[Connection]:
        with self._engine.connect() as conn, limit_statements(conn, timeout_s):
            yield conn

    # --- turns -----------------------------------------------------------------------------

    @asynccontextmanager
    async def turn(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        window: int,
        lease_s: float,
        timeout_s: float,
    ) -> AsyncIterator[_SqlTurn]:
        await self._give_back_unreleased()
        held = await self._run(
            lambda: self._begin(conversation_id, owner, window, lease_s, timeout_s)
        )
        try:
            yield held
        finally:
            if not held.committed:
                await self._release(held)

    async def _release(self, held: _SqlTurn) -> None:
        cid = held.conversation.id
        try:
            await self._run(lambda: self._release_lease(cid, held.token))
        except Exception as exc:  # never replaces the turn's own error
            log.warning("could not release a turn lease: %s", type(exc).__name__)
            self._unreleased[cid] = held.token

    async def _give_back_unreleased(self) -> None:
        for cid, token in list(self._unreleased.items()):
            try:
                await self._run(_bind(self._release_lease, cid, token))
            except Exception:
                return  # still down; the lease expires by itself in any case
            self._unreleased.pop(cid, None)

    def _begin(
        self,
        conversation_id: str,
        owner: str | None,
        window: int,
        lease_s: float,
        timeout_s: float,
    ) -> _SqlTurn:
        now = _naive(self._now())
        token = secrets.token_hex(16)
        until = now + timedelta(seconds=lease_s)
        params = {"cid": conversation_id, "now": now, "token": token, "until": until}
        with self._transaction(timeout_s) as conn:
            if owner is None:
                taken = conn.execute(_TAKE_LEASE, params).rowcount
            else:
                taken = conn.execute(_TAKE_OWN_LEASE, {**params, "b_owner": owner}).rowcount
            rows = conn.execute(
                _CONVERSATION_AND_WINDOW, {"cid": conversation_id, "window": window}
            ).all()
            row = rows[0] if rows else None
            if row is None or (owner is not None and row.owner != owner):
                raise ConversationNotFound(conversation_id)
            if taken != 1:
                raise TurnInProgress(conversation_id)
            recent = [r for r in rows if r.seq is not None]
            if recent:
                last_seq = recent[0].seq
            else:  # a window of 0 messages, or a conversation with none
                last_seq = conn.execute(_LAST_SEQ, {"cid": conversation_id}).scalar() or 0
        recent.reverse()
        return _SqlTurn(
            store=self,
            conversation=_conversation(conversation_id, row),
            recent=[Message(Role(r.role), r.content) for r in recent],
            last_seq=last_seq,
            token=token,
        )

    def _commit(
        self,
        held: _SqlTurn,
        user: Message | None,  # None: `bot` replaces the newest message, the last reply
        bot: Message,
        new_stance: Stance | None,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        now = _naive(self._now())
        conversation_id = held.conversation.id
        params: dict[str, object] = {"cid": conversation_id, "token": held.token, "at": now}
        statement = _END_TURN
        if new_stance is not None and held.conversation.stance is None:  # fixed once, here
            statement = _END_OPENING_TURN
            params |= {
                "topic": new_stance.topic,
                "thesis": new_stance.thesis,
                "antithesis": new_stance.antithesis or None,
            }
        try:
            with self._transaction(timeout_s) as conn:
                if conn.execute(statement, params).rowcount != 1:
                    found = conn.execute(_EXISTS, {"cid": conversation_id}).first()
                    if found is None:
                        raise ConversationNotFound(conversation_id)  # deleted meanwhile
                    if found.turn_cancelled == held.token:
                        raise TurnCancelled(conversation_id)  # a cancel took the lease away
                    raise TurnInProgress(conversation_id)  # the lease expired and was taken
                if user is not None:
                    _insert_messages(conn, conversation_id, held.last_seq + 1, [user, bot], now)
                else:
                    _replace_reply(conn, conversation_id, held.last_seq, bot, now)
                if receipt is not None:
                    _complete_key(conn, receipt)
        except IntegrityError:
            raise TurnInProgress(conversation_id) from None

    def _release_lease(self, conversation_id: str, token: str) -> None:
        with self._transaction(self._timeout_s) as conn:
            conn.execute(_RELEASE, {"cid": conversation_id, "token": token})

    # --- conversations ---------------------------------------------------------------------

    async def create_conversation(
        self,
        conversation: Conversation,
        user: Message,
        bot: Message,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        await self._run(lambda: self._create(conversation, user, bot, receipt, timeout_s))

    def _create(
        self,
        conversation: Conversation,
        user: Message,
        bot: Message,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        created = _naive(conversation.created_at)
        stance = conversation.stance
        with self._transaction(timeout_s) as conn:
            conn.execute(
                _INSERT_CONVERSATION,
                {
                    "id": conversation.id,
                    "topic": stance.topic if stance else None,
                    "thesis": stance.thesis if stance else None,
                    "antithesis": (stance.antithesis or None) if stance else None,
                    "prompt_version": conversation.prompt_version,
                    "created_at": created,
                    "updated_at": created,
                    "owner": conversation.owner,
                },
            )
            _insert_messages(conn, conversation.id, 1, [user, bot], created)
            if receipt is not None:
                _complete_key(conn, receipt)

    async def transcript_page(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        limit: int,
        max_chars: int,
        older_than: int | None,
        timeout_s: float,
    ) -> TranscriptPage:
        return await self._run(
            lambda: self._page(conversation_id, owner, limit, max_chars, older_than, timeout_s)
        )

    def _page(
        self,
        conversation_id: str,
        owner: str | None,
        limit: int,
        max_chars: int,
        older_than: int | None,
        timeout_s: float,
    ) -> TranscriptPage:
        with self._reading(timeout_s) as conn:
            row = conn.execute(_CONVERSATION, {"cid": conversation_id}).one_or_none()
            if row is None or (owner is not None and row.owner != owner):
                raise ConversationNotFound(conversation_id)
            params: dict[str, object] = {"cid": conversation_id, "window": limit}
            if older_than is None:
                rows = conn.execute(_WINDOW, params).all()
            else:
                rows = conn.execute(_PAGE_BEFORE, {**params, "before": older_than}).all()
        kept: list[Any] = []
        chars = 0
        for r in rows:  # newest first
            chars += len(r.content)
            if kept and chars > max_chars:
                break
            kept.append(r)
        kept.reverse()
        older = kept[0].seq if kept and kept[0].seq > 1 else None
        return TranscriptPage(
            _conversation(conversation_id, row),
            [Message(Role(r.role), r.content) for r in kept],
            older,
        )

    async def list_conversations(
        self,
        *,
        owner: str | None,
        limit: int,
        after: ListPosition | None,
        query: str | None,
        timeout_s: float,
    ) -> ConversationList:
        return await self._run(lambda: self._list(owner, limit, after, query, timeout_s))

    def _list(
        self,
        owner: str | None,
        limit: int,
        after: ListPosition | None,
        query: str | None,
        timeout_s: float,
    ) -> ConversationList:
        with self._reading(timeout_s) as conn:
            rows = conn.execute(list_statement(owner, limit + 1, after, query)).all()
        page = [
            ConversationSummary(
                _conversation(row.id, row), _aware(row.updated_at), (row.last_seq or 0) // 2
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        last = page[-1] if page and more else None
        return ConversationList(
            page, ListPosition(last.updated_at, last.conversation.id) if last else None
        )

    async def delete_conversation(
        self, conversation_id: str, *, owner: str | None, timeout_s: float
    ) -> None:
        await self._run(lambda: self._delete(conversation_id, owner, timeout_s))

    def _delete(self, conversation_id: str, owner: str | None, timeout_s: float) -> None:
        with self._transaction(timeout_s) as conn:
            row = conn.execute(_CONVERSATION, {"cid": conversation_id}).one_or_none()
            if row is None or (owner is not None and row.owner != owner):
                raise ConversationNotFound(conversation_id)
            _delete_conversations(conn, [conversation_id])

    # --- idempotency keys ------------------------------------------------------------------

    async def claim_key(
        self, request: IdempotentRequest, *, lease_s: float, ttl_s: float, timeout_s: float
    ) -> Claimed | SeenBefore:
        return await self._run(lambda: self._claim(request, lease_s, ttl_s, timeout_s))

    def _claim(
        self, request: IdempotentRequest, lease_s: float, ttl_s: float, timeout_s: float
    ) -> Claimed | SeenBefore:
        for _ in range(3):  # each pass ends unless a competitor changed the row meanwhile
            now = _naive(self._now())
            token = secrets.token_hex(16)
            fresh = {
                "target": request.target,
                "message_hash": request.message_hash,
                "token": token,
                "locked_until": now + timedelta(seconds=lease_s),
                "conversation_id": None,
                "response": None,
                "created_at": now,
            }
            try:
                with self._transaction(timeout_s) as conn:
                    conn.execute(_INSERT_KEY, {"key_hash": request.key, **fresh})
                return Claimed(request.key, token)
            except IntegrityError:
                pass  # the key exists: look at it
            with self._transaction(timeout_s) as conn:
                row = conn.execute(_KEY_ROW, {"key": request.key}).one_or_none()
                if row is None:
                    continue  # purged or released meanwhile
                cutoff = now - timedelta(seconds=ttl_s)
                expired = row.created_at < cutoff
                abandoned = row.response is None and (
                    row.locked_until is None or row.locked_until < now
                )
                if not (expired or abandoned):
                    result = _decode_result(row.response) if row.response is not None else None
                    return SeenBefore(row.target, row.message_hash, result)
                # Take over a record that is no longer live. The row must still be the one
                # read (same created_at), and must not have completed meanwhile.
                taken = conn.execute(
                    update(idempotency_keys)
                    .where(
                        idempotency_keys.c.key_hash == request.key,
                        idempotency_keys.c.created_at == row.created_at,
                        or_(
                            idempotency_keys.c.response.is_(None),
                            idempotency_keys.c.created_at < cutoff,
                        ),
                    )
                    .values(**fresh)
                ).rowcount
                if taken == 1:
                    return Claimed(request.key, token)
        raise IdempotencyKeyInUse()

    async def release_key(self, claim: Claimed, *, timeout_s: float) -> None:
        await self._run(lambda: self._release_key(claim, timeout_s))

    def _release_key(self, claim: Claimed, timeout_s: float) -> None:
        with self._transaction(min(timeout_s, self._timeout_s)) as conn:
            conn.execute(_RELEASE_KEY, {"key": claim.key, "claim_token": claim.token})

    # --- housekeeping ----------------------------------------------------------------------

    async def purge(self, *, idle_before: datetime | None, keys_before: datetime) -> PurgeReport:
        return await self._run(lambda: self._purge(idle_before, keys_before))

    def _purge(self, idle_before: datetime | None, keys_before: datetime) -> PurgeReport:
        now = _naive(self._now())
        events_before = now - timedelta(seconds=STREAM_EVENTS_KEPT_S)
        removed_conversations = removed_keys = 0
        with self._transaction(self._timeout_s * 4) as conn:  # a short-lived table, kept small
            conn.execute(delete(stream_events).where(stream_events.c.created_at < events_before))
        # Small batches, each its own transaction: no long locks on a busy table.
        while idle_before is not None:
            with self._transaction(self._timeout_s * 4) as conn:
                ids = conn.scalars(
                    select(conversations.c.id)
                    .where(
                        conversations.c.updated_at < _naive(idle_before),
                        or_(
                            conversations.c.turn_lease_until.is_(None),
                            conversations.c.turn_lease_until < now,
                        ),
                    )
                    .limit(_PURGE_BATCH)
                ).all()
                if not ids:
                    break
                removed_conversations += _delete_conversations(conn, list(ids))
        while True:
            with self._transaction(self._timeout_s * 4) as conn:
                keys = conn.scalars(
                    select(idempotency_keys.c.key_hash)
                    .where(idempotency_keys.c.created_at < _naive(keys_before))
                    .limit(_PURGE_BATCH)
                ).all()
                if not keys:
                    break
                removed_keys += conn.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.key_hash.in_(keys))
                ).rowcount
        return PurgeReport(removed_conversations, removed_keys)

    async def ping(self) -> None:
        await self._run(self._ping)

    def _ping(self) -> None:
        with self._reading(self._timeout_s) as conn:
            # Reaches the server and proves the schema is there.
            conn.execute(select(conversations.c.id).limit(0)).all()
            conn.execute(select(idempotency_keys.c.key_hash).limit(0)).all()


def list_statement(
    owner: str | None, limit: int, after: ListPosition | None, query: str | None
) -> Select[Any]:
    """The list query: a range of ix_conversations_owner_activity, read backwards."""
    c = conversations.c
    statement = _LIST.where(c.owner.is_(None) if owner is None else c.owner == owner)
    if after is not None:
        at = _naive(after.updated_at)
        statement = statement.where(
            or_(c.updated_at < at, and_(c.updated_at == at, c.id < after.conversation_id))
        )
    if query is not None:
        # Not indexed: rows are read in index order, and filtered, until the page is full.
        statement = statement.where(
            or_(
                c.topic.icontains(query, autoescape=True),
                c.thesis.icontains(query, autoescape=True),
            )
        )
    return statement.limit(limit)


def _bind(work: Callable[[str, str], None], first: str, second: str) -> Callable[[], None]:
    return lambda: work(first, second)


def _conversation(conversation_id: str, row: Any) -> Conversation:
    return Conversation(
        id=conversation_id,
        stance=Stance(row.topic, row.thesis, row.antithesis or "")
        if row.thesis is not None
        else None,
        prompt_version=row.prompt_version,
        created_at=_aware(row.created_at),
        owner=row.owner,
    )


def _insert_messages(
    conn: Connection, conversation_id: str, first_seq: int, batch: list[Message], at: datetime
) -> None:
    conn.execute(
        _INSERT_MESSAGES,
        [
            {
                "conversation_id": conversation_id,
                "seq": first_seq + offset,
                "role": message.role.value,
                "content": message.text,
                "created_at": at,
            }
            for offset, message in enumerate(batch)
        ],
    )


def _replace_reply(
    conn: Connection, conversation_id: str, seq: int, bot: Message, at: datetime
) -> None:
    params = {"cid": conversation_id, "b_seq": seq, "content": bot.text, "at": at}
    if conn.execute(_REPLACE_REPLY, params).rowcount != 1:
        # The use case saw a bot reply at `seq` under this lease; nothing else writes meanwhile.
        raise TurnInProgress(conversation_id)


def _delete_conversations(conn: Connection, ids: list[str]) -> int:
    """Everything that holds the conversations' text: their idempotency records (answers to
    replay), their messages, their streamed events, and the conversations themselves."""
    # Two statements, each on its own index: an OR of the two columns can make InnoDB scan and
    # lock the whole table, and other users' key claims would wait behind it.
    conn.execute(delete(idempotency_keys).where(idempotency_keys.c.conversation_id.in_(ids)))
    conn.execute(delete(idempotency_keys).where(idempotency_keys.c.target.in_(ids)))
    conn.execute(delete(messages).where(messages.c.conversation_id.in_(ids)))
    conn.execute(delete(stream_events).where(stream_events.c.conversation_id.in_(ids)))
    return int(conn.execute(delete(conversations).where(conversations.c.id.in_(ids))).rowcount)


def _complete_key(conn: Connection, receipt: Receipt) -> None:
    done = conn.execute(
        _COMPLETE_KEY,
        {
            "key": receipt.claim.key,
            "claim_token": receipt.claim.token,
            "response": _encode_result(receipt.result),
            "cid": receipt.result.conversation_id,
        },
    ).rowcount
    if done != 1:
        # The claim ran out and another request with this key took it over: that one answers.
        raise IdempotencyKeyInUse()


def _encode_result(result: TurnResult) -> str:
    return json.dumps(
        {
            "conversation_id": result.conversation_id,
            "recent": [{"role": m.role.value, "text": m.text} for m in result.recent],
        },
        ensure_ascii=False,
    )


def _decode_result(stored: str) -> TurnResult:
    data = json.loads(stored)
    return TurnResult(
        data["conversation_id"], [Message(Role(m["role"]), m["text"]) for m in data["recent"]]
    )


def _code(exc: BaseException) -> str:
    """The driver's error number, if any (never its message: it can quote SQL values)."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return f"({args[0]})" if args and isinstance(args[0], int) else ""
