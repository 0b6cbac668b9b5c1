"""Turns running in this process, by conversation: the events of a streamed turn, written to
the database in batches for clients that reconnect (GET /api/conversations/{id}/stream), and
the task of every turn, so that a cancel in this process stops it at once.

Batches: the first event of a turn is written at once (it also clears the previous turn's
events, and tells a reconnecting client that this turn exists); after it, pending events are
written every FLUSH_INTERVAL_S or every FLUSH_EVENTS events, whichever comes first; the final
event is written before it is sent. A reply of a few seconds costs a handful of small inserts.
Each write also looks whether the turn still holds its conversation: a cancel from another
process takes the hold away, and the turn stops at its next write.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent.errors import TurnCancelled
from agent.ports import StreamEvent, TurnStreams

log = logging.getLogger("kopichat.api")
FLUSH_INTERVAL_S = 0.25
FLUSH_EVENTS = 64
T = TypeVar("T")
FINAL_EVENTS = frozenset({"done", "error", "cancelled"})

Event = dict[str, str]


def sse(turn: str, event: StreamEvent) -> Event:
    return {"id": f"{turn}-{event.n}", "event": event.name, "data": event.data}


@dataclass(eq=False)
class LiveTurn:
    """One turn of this process. `conversation_id` is None for a first turn (its id is not
    known until it is stored: nothing is recorded for it, and it cannot be cancelled)."""

    conversation_id: str | None
    streams: TurnStreams | None = None
    timeout_s: float = 3.0  # for each write of events
    turn: str = field(default_factory=lambda: secrets.token_hex(4))
    events: list[StreamEvent] = field(default_factory=list)
    task: asyncio.Future[Any] | None = None
    cancel_requested: bool = False
    settled: bool = False  # the turn has its result: too late to cancel
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: list[StreamEvent] = field(default_factory=list)
    _written: bool = False
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _timer_set: bool = False
    _writes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def finished(self) -> bool:
        return bool(self.events) and self.events[-1].name in FINAL_EVENTS

    def add(self, name: str, data: str) -> None:
        event = StreamEvent(len(self.events) + 1, name, data)
        self.events.append(event)
        self._wake()
        if self.conversation_id is None or self.streams is None:
            return
        self._pending.append(event)
        if event.n == 1 or len(self._pending) >= FLUSH_EVENTS:
            self._start_write(0.0)
        elif not self._timer_set:
            self._timer_set = True
            self._start_write(FLUSH_INTERVAL_S)

    async def finish(self, name: str, data: str) -> None:
        """The final event: written to the database before any client sees it."""
        self.settled = True
        event = StreamEvent(len(self.events) + 1, name, data)
        if self.conversation_id is not None and self.streams is not None:
            self._pending.append(event)
            await self._write(final=True)
        self.events.append(event)
        self._wake()

    def cancel(self) -> bool:
        """Stop the turn (its task) unless it already has its result."""
        if self.settled or self.task is None or self.task.done():
            return False
        self.cancel_requested = True
        self.task.cancel()
        return True

    async def follow(self, after: int) -> AsyncIterator[Event]:
        """The events after number `after`, then the new ones as they come, to the last."""
        sent = after
        while True:
            while sent < len(self.events):
                event = self.events[sent]
                sent += 1
                yield sse(self.turn, event)
                if event.name in FINAL_EVENTS:
                    return
            if self.finished:  # `after` was at or past the final event
                return
            changed = self._changed
            await changed.wait()

    async def first_news(self) -> None:
        """Wait until the turn has an event or its task has ended."""
        assert self.task is not None
        if self.events or self.task.done():
            return
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _start_write(self, delay_s: float) -> None:
        task = asyncio.create_task(self._write_after(delay_s))
        self._writes.add(task)  # asyncio keeps only a weak reference
        task.add_done_callback(self._writes.discard)

    async def _write_after(self, delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
            self._timer_set = False
        await self._write(final=False)

    async def _write(self, *, final: bool) -> None:
        assert self.conversation_id is not None
        assert self.streams is not None
        async with self._write_lock:
            batch = list(self._pending)
            if not batch:
                return
            try:
                held = await self.streams.record(
                    self.conversation_id,
                    self.turn,
                    batch,
                    first=not self._written,
                    check_lease=not final,
                    timeout_s=self.timeout_s,
                )
            except Exception as exc:  # kept pending: the next write tries again
                log.warning("could not record stream events: %s", type(exc).__name__)
                return
            del self._pending[: len(batch)]
            self._written = True
        if not held:  # cancelled from another process
            self.cancel()


class LiveTurns:
    """The running turns of this process, by conversation id."""

    def __init__(self) -> None:
        self._by_conversation: dict[str, set[LiveTurn]] = {}

    def add(self, live: LiveTurn) -> None:
        if live.conversation_id is not None:
            self._by_conversation.setdefault(live.conversation_id, set()).add(live)

    def remove(self, live: LiveTurn) -> None:
        if live.conversation_id is None:
            return
        running = self._by_conversation.get(live.conversation_id)
        if running is not None:
            running.discard(live)
            if not running:
                del self._by_conversation[live.conversation_id]

    def of(self, conversation_id: str) -> list[LiveTurn]:
        return list(self._by_conversation.get(conversation_id, ()))

    def streaming(self, conversation_id: str) -> LiveTurn | None:
        """The turn of this conversation that has sent events, if one runs here."""
        return next((t for t in self.of(conversation_id) if t.events), None)


async def run_cancellable(live: LiveTurn, running: LiveTurns, work: Awaitable[T]) -> T:
    """Run a turn that is not streamed as a task of its own, so a cancel here stops it at once:
    raises TurnCancelled then."""
    task = asyncio.ensure_future(work)
    live.task = task
    running.add(live)
    try:
        return await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if live.cancel_requested and (me is None or not me.cancelling()):
            raise TurnCancelled(live.conversation_id or "") from None
        raise
    finally:
        running.remove(live)
