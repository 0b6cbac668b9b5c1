"""The ports the use case depends on. Adapters live in `agent.adapters`; fakes in tests.

Every storage call takes `timeout_s`, the time it may still use: the store bounds its waits
(pool, connection, statements, locks) by it and raises DatabaseUnavailable when the database
fails or does not answer in time. A store never half-stores a turn.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent.domain import (
    Conversation,
    ConversationList,
    ListPosition,
    Message,
    Opening,
    PurgeReport,
    Stance,
    TranscriptPage,
    TurnResult,
)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """What an Idempotency-Key is bound to. `key` is already scoped to the caller (hashed with
    its API key); `target` is the conversation id asked for, "" for a new conversation."""

    key: str
    target: str
    message_hash: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request holds the key now; `token` proves it at commit or release."""

    key: str
    token: str


@dataclass(frozen=True, slots=True)
class SeenBefore:
    """The key was used before: by this request (then `result` is its stored answer, or None
    while that first request is still running) or by a different one."""

    target: str
    message_hash: str
    result: TurnResult | None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Written with a turn's messages, in the same transaction: the answer a retry replays."""

    claim: Claimed
    result: TurnResult


class Turn(Protocol):
    """A conversation held for one turn (see ConversationStore.turn)."""

    @property
    def conversation(self) -> Conversation: ...

    @property
    def recent(self) -> list[Message]:
        """The newest stored messages (at most the window asked for), oldest first."""
        ...

    @property
    def turns_taken(self) -> int:
        """Completed turns (user + bot pairs) so far."""
        ...

    async def commit(
        self,
        user: Message,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        """Store both messages (the stance too, if it was fixed by this turn; the receipt, if
        any) in one transaction. Raises TurnInProgress if the hold was lost meanwhile,
        ConversationNotFound if the conversation was deleted meanwhile."""
        ...

    async def replace_reply(
        self,
        bot: Message,
        new_stance: Stance | None,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        """Put `bot` in place of the newest message, a bot reply (the replaced text is not
        kept), with the stance and receipt as in `commit`, in one transaction. Same errors."""
        ...


class ConversationStore(Protocol):
    def turn(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        window: int,
        lease_s: float,
        timeout_s: float,
    ) -> AbstractAsyncContextManager[Turn]:
        """`async with store.turn(id, ...) as turn:` holds the conversation for one turn (a
        lease of `lease_s` seconds, so a crashed process frees it by itself) and gives back
        the hold when the block ends, committed or not. A failure to give it back is logged,
        never raised over the block's own exception.

        Raises ConversationNotFound (unknown, or owned by another key) or TurnInProgress."""
        ...

    async def create_conversation(
        self,
        conversation: Conversation,
        user: Message,
        bot: Message,
        *,
        receipt: Receipt | None,
        timeout_s: float,
    ) -> None:
        """Store a new conversation with its first two messages in one transaction."""
        ...

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
        """Up to `limit` messages (and about `max_chars` characters, at least one message),
        the newest ones before the cursor `older_than`. Raises ConversationNotFound."""
        ...

    async def list_conversations(
        self,
        *,
        owner: str | None,
        limit: int,
        after: ListPosition | None,
        query: str | None,
        timeout_s: float,
    ) -> ConversationList:
        """The owner's conversations (owner None: those stored while API keys were off), most
        recently active first, up to `limit` from just after `after`. `query`: only those whose
        topic or thesis contains it, case-insensitively (wildcards in it are plain text)."""
        ...

    async def delete_conversation(
        self, conversation_id: str, *, owner: str | None, timeout_s: float
    ) -> None:
        """Remove the conversation, every message and every idempotency record that holds its
        text. Raises ConversationNotFound."""
        ...

    async def claim_key(
        self, request: IdempotentRequest, *, lease_s: float, ttl_s: float, timeout_s: float
    ) -> Claimed | SeenBefore:
        """Take an Idempotency-Key for this request, unless a live record of it exists (one
        younger than `ttl_s`, not an abandoned claim whose lease ran out)."""
        ...

    async def release_key(self, claim: Claimed, *, timeout_s: float) -> None:
        """Forget a claim whose request failed, so that a retry runs again."""
        ...

    async def purge(self, *, idle_before: datetime | None, keys_before: datetime) -> PurgeReport:
        """Delete conversations not touched since `idle_before` (None: keep them) and
        idempotency records created before `keys_before`."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...


# Receives the reply's text piece by piece while the model writes it (streaming). What it is
# given is shown to the user as it comes; the reply returned at the end is what counts (and is
# stored): it may differ where the reply was tidied or replaced by the stance guard.
OnToken = Callable[[str], None]
# Given to an OnToken callback in place of text when a model attempt that had already streamed
# some of its reply is abandoned and the model is asked again (a dropped connection, a retry):
# everything streamed so far is void, and the tokens that follow start the reply anew.
RESTART = "\x00restart"


class Responder(Protocol):
    """Produces the bot's side of a turn with exactly one model call (plus retries of it)."""

    async def open(
        self,
        message: str,
        history: list[Message],
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> Opening:
        """First turn(s): decide topic and thesis from the message and write the opening reply."""
        ...

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> str:
        """Later turns: argue `stance` against the user's latest message."""
        ...


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event of a streamed turn; `n` counts 1, 2, 3, ... within the turn."""

    n: int
    name: str
    data: str


@dataclass(frozen=True, slots=True)
class Replay:
    """Stored events, each with its turn's key, oldest first; `running`: a turn holds the
    conversation now."""

    events: list[tuple[str, StreamEvent]]
    running: bool


class TurnStreams(Protocol):
    """The events of streamed turns, kept a short while for clients that reconnect, and the
    cancel of a running turn. Raises DatabaseUnavailable like the store."""

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
        """Append events of `turn` (`first`: also forget earlier turns' events). With
        `check_lease`, returns whether a turn still holds the conversation (False: it was
        cancelled); else True."""
        ...

    async def replay(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        turn: str | None,
        after: int,
        timeout_s: float,
    ) -> Replay:
        """The events of `turn` after number `after`, or (turn None) every kept event.
        Raises ConversationNotFound (unknown, or another key's)."""
        ...

    async def cancel(self, conversation_id: str, *, owner: str | None, timeout_s: float) -> bool:
        """Take the running turn's hold away, so it stores nothing; False when no turn runs.
        Raises ConversationNotFound."""
        ...
