"""The ConversationStore port over SQLAlchemy Core.

Concurrency: a turn takes a short *lease* on its conversation (a token and an expiry written by
one conditional UPDATE) before the model call, and no transaction or lock is held while the model
thinks. Committing checks the token, so a second request for the same conversation gets
TurnInProgress instead of interleaving; the (conversation_id, seq) primary key backs that up.
A crashed turn's lease simply expires.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine, Integer, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from agent.adapters.sql.tables import conversations, messages
from agent.domain import Conversation, ConversationTranscript, Message, Role, Stance
from agent.errors import ConversationNotFound, TurnInProgress
from agent.ports import TurnContext

T = TypeVar("T")

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
    .values(turn_lease=bindparam("token"), turn_lease_until=bindparam("until"))
)
_CONVERSATION = select(
    conversations.c.topic,
    conversations.c.thesis,
    conversations.c.prompt_version,
    conversations.c.created_at,
).where(conversations.c.id == bindparam("cid"))
# The newest `window` messages; (conversation_id, seq) is the primary key, so this is an index
# range read of `window` rows however long the conversation is.
_WINDOW = (
    select(messages.c.seq, messages.c.role, messages.c.content)
    .where(messages.c.conversation_id == bindparam("cid"))
    .order_by(messages.c.seq.desc())
    .limit(bindparam("window", literal_execute=True, type_=Integer()))
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
_END_OPENING_TURN = _END_TURN.values(topic=bindparam("topic"), thesis=bindparam("thesis"))
_RELEASE = update(conversations).where(*_HELD_BY).values(turn_lease=None, turn_lease_until=None)
_INSERT_MESSAGES = insert(messages)


def _utcnow() -> datetime:
    # Stored naive, always UTC: MySQL DATETIME has no zone.
    return datetime.now(UTC).replace(tzinfo=None)


class SqlConversationStore:
    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._engine = engine
        self._now = now

    # The port is async; SQLAlchemy here is sync, so each call runs on a worker thread and the
    # event loop keeps serving other requests.
    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    async def begin_turn(self, conversation_id: str, window: int, lease_s: float) -> TurnContext:
        return await self._run(lambda: self._begin_turn(conversation_id, window, lease_s))

    async def commit_turn(
        self, ctx: TurnContext, user: Message, bot: Message, new_stance: Stance | None
    ) -> None:
        await self._run(lambda: self._commit_turn(ctx, user, bot, new_stance))

    async def release_turn(self, ctx: TurnContext) -> None:
        await self._run(lambda: self._release_turn(ctx))

    async def create_conversation(
        self, conversation: Conversation, user: Message, bot: Message
    ) -> None:
        await self._run(lambda: self._create(conversation, user, bot))

    async def transcript(self, conversation_id: str) -> ConversationTranscript:
        return await self._run(lambda: self._transcript(conversation_id))

    async def ping(self) -> None:
        await self._run(self._ping)

    def _begin_turn(self, conversation_id: str, window: int, lease_s: float) -> TurnContext:
        now = self._now()
        token = secrets.token_hex(16)
        until = now + timedelta(seconds=lease_s)
        with self._engine.begin() as conn:
            taken = conn.execute(
                _TAKE_LEASE, {"cid": conversation_id, "now": now, "token": token, "until": until}
            ).rowcount
            row = conn.execute(_CONVERSATION, {"cid": conversation_id}).one_or_none()
            if row is None:
                raise ConversationNotFound(conversation_id)
            if taken != 1:
                raise TurnInProgress(conversation_id)
            recent = conn.execute(_WINDOW, {"cid": conversation_id, "window": window}).all()
        recent = list(reversed(recent))
        last_seq = recent[-1].seq if recent else 0
        conversation = Conversation(
            id=conversation_id,
            stance=Stance(row.topic, row.thesis) if row.thesis is not None else None,
            prompt_version=row.prompt_version,
            created_at=row.created_at.replace(tzinfo=UTC),
        )
        return TurnContext(
            conversation=conversation,
            recent=[Message(Role(r.role), r.content) for r in recent],
            next_seq=last_seq + 1,
            lease=token,
        )

    def _commit_turn(
        self, ctx: TurnContext, user: Message, bot: Message, new_stance: Stance | None
    ) -> None:
        now = self._now()
        conversation_id = ctx.conversation.id
        params: dict[str, object] = {"cid": conversation_id, "token": ctx.lease, "at": now}
        statement = _END_TURN
        if new_stance is not None and ctx.conversation.stance is None:  # fixed once, here
            statement = _END_OPENING_TURN
            params |= {"topic": new_stance.topic, "thesis": new_stance.thesis}
        try:
            with self._engine.begin() as conn:
                held = conn.execute(statement, params).rowcount
                if held != 1:
                    raise TurnInProgress(conversation_id)  # the lease expired and was taken
                self._insert_messages(conn, conversation_id, ctx.next_seq, [user, bot], now)
        except IntegrityError:
            raise TurnInProgress(conversation_id) from None

    def _release_turn(self, ctx: TurnContext) -> None:
        with self._engine.begin() as conn:
            conn.execute(_RELEASE, {"cid": ctx.conversation.id, "token": ctx.lease})

    def _create(self, conversation: Conversation, user: Message, bot: Message) -> None:
        created = conversation.created_at.astimezone(UTC).replace(tzinfo=None)
        stance = conversation.stance
        with self._engine.begin() as conn:
            conn.execute(
                insert(conversations).values(
                    id=conversation.id,
                    topic=stance.topic if stance else None,
                    thesis=stance.thesis if stance else None,
                    prompt_version=conversation.prompt_version,
                    created_at=created,
                    updated_at=created,
                )
            )
            self._insert_messages(conn, conversation.id, 1, [user, bot], created)

    @staticmethod
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

    def _transcript(self, conversation_id: str) -> ConversationTranscript:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(conversations.c.id == conversation_id)
            ).one_or_none()
            if row is None:
                raise ConversationNotFound(conversation_id)
            rows = conn.execute(
                select(messages.c.role, messages.c.content)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.seq)
            ).all()
        conversation = Conversation(
            id=row.id,
            stance=Stance(row.topic, row.thesis) if row.thesis is not None else None,
            prompt_version=row.prompt_version,
            created_at=row.created_at.replace(tzinfo=UTC),
        )
        return ConversationTranscript(
            conversation, [Message(Role(r.role), r.content) for r in rows]
        )

    def _ping(self) -> None:
        with self._engine.connect() as conn:
            # Reaches the server and proves the schema is there.
            conn.execute(select(conversations.c.id).limit(0)).all()
