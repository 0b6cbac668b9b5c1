"""GET /api/conversations/{id}/stream: the events of the turn in progress (or just finished)
after the one a client last received, then the new ones as they come, to the final event.

From this process's memory when the turn runs here; else from the database, which the
streaming process writes in batches (api/live_turns.py) and this one polls every POLL_S.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent.errors import KopichatError
from agent.ports import StreamEvent, TurnStreams
from api.live_turns import FINAL_EVENTS, Event, LiveTurns, sse

log = logging.getLogger("kopichat.api")
POLL_S = 0.2
# How long to wait for a running turn's first write of events: it comes as its first event goes
# out, so a turn that has none by then is not streamed (POST /api/chat).
FIRST_WRITE_WAIT_S = 2.0
EVENT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9]{1,9}$"


@dataclass(frozen=True, slots=True)
class EventId:
    turn: str
    n: int

    @staticmethod
    def valid(text: str | None) -> bool:
        return text is not None and re.fullmatch(EVENT_ID_PATTERN, text) is not None

    @classmethod
    def parse(cls, text: str) -> EventId:
        turn, n = text.split("-")
        return cls(turn, int(n))


async def resume(
    streams: TurnStreams,
    running: LiveTurns,
    conversation_id: str,
    *,
    owner: str | None,
    after: EventId | None,
    wait_s: float,
    timeout_s: float,
) -> AsyncIterator[Event] | None:
    """The events to send, or None when there is no turn to resume (none runs, and the last
    one's events are gone). Raises ConversationNotFound before anything is sent."""
    started = time.monotonic()
    give_up = started + wait_s
    stored = await streams.replay(
        conversation_id, owner=owner, turn=None, after=0, timeout_s=timeout_s
    )
    live = running.streaming(conversation_id)
    if live is not None and (after is None or after.turn == live.turn):
        start = after.n if after is not None else 0
        if live.finished and start >= len(live.events):
            return None  # the client has the whole turn, its final event included
        return live.follow(start)
    # The client's turn may not be written yet (its first write runs as its first event goes
    # out): while a turn runs, wait for it a little.
    while stored.running and (
        not stored.events or (after is not None and not _has_turn(stored.events, after.turn))
    ):
        if time.monotonic() >= min(give_up, started + FIRST_WRITE_WAIT_S):
            break
        await asyncio.sleep(POLL_S)
        stored = await streams.replay(
            conversation_id, owner=owner, turn=None, after=0, timeout_s=timeout_s
        )
    if not stored.events:
        return None
    if after is not None and _has_turn(stored.events, after.turn):
        turn, start = after.turn, after.n
    else:
        turn, start = stored.events[-1][0], 0  # the latest turn, from its start
    first = [e for t, e in stored.events if t == turn and e.n > start]
    if not first and any(t == turn and e.name in FINAL_EVENTS for t, e in stored.events):
        return None  # the client has the whole turn, its final event included
    return _follow_stored(streams, conversation_id, owner, turn, start, first, give_up, timeout_s)


def _has_turn(events: list[tuple[str, StreamEvent]], turn: str) -> bool:
    return any(t == turn for t, _ in events)


async def _follow_stored(
    streams: TurnStreams,
    conversation_id: str,
    owner: str | None,
    turn: str,
    start: int,
    first: list[StreamEvent],
    give_up: float,
    timeout_s: float,
) -> AsyncIterator[Event]:
    batch, last = first, start
    while True:
        for event in batch:
            yield sse(turn, event)
            last = event.n
            if event.name in FINAL_EVENTS:
                return
        if time.monotonic() >= give_up:
            return  # the turn would have ended by now: its process went away
        await asyncio.sleep(POLL_S)
        try:
            stored = await streams.replay(
                conversation_id, owner=owner, turn=turn, after=last, timeout_s=timeout_s
            )
        except KopichatError as exc:  # deleted meanwhile, or the database is down: end here
            log.warning("a resumed stream ended early: %s", exc.code)
            return
        batch = [e for _, e in stored.events]
