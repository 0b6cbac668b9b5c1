"""`POST /api/chat/stream`: one turn as server-sent events.

Nothing is sent until the turn's first event: a turn that fails before it (an unknown
conversation, another turn running, an Idempotency-Key in use or reused, the turn cap, the model
or the database down, the deadline) gets its real status and problem+json, exactly as on
`POST /api/chat`. Once the first event is out the status is 200, and a later failure is an
`error` event.

Events, in order:
- `token`, data `{"text": "..."}`: the next piece of the reply as the model writes it (the first
  carries the started answer, for models that are given one). Held back a few words by the stance
  guard's leak check; a reply the guard stops sends no more tokens.
- `restart`, data `{}`: the model attempt whose tokens were streamed so far was abandoned (its
  connection dropped, or it failed) and the model is being asked again: discard the text of the
  tokens received so far; the `token` events that follow start the reply anew. Tokens of two
  attempts are never run together.
- then exactly one of `done`, data exactly the `POST /api/chat` response body (the reply as
  stored: tidied, regenerated or replaced by the guard, so it may differ from the tokens), or
  `error`, data the problem+json body (with `retry_after` seconds where `Retry-After` would be).

The turn runs as a task of its own, not as part of the response: a client that disconnects
mid-stream does not cancel it, so the turn is stored whole (or, if it fails, not at all), as if
the client had called `POST /api/chat` and lost the answer. Sending an `Idempotency-Key` lets
the client fetch that answer again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from agent.domain import TurnResult
from agent.errors import KopichatError
from agent.observability import note
from agent.ports import RESTART, OnToken
from api.problems import kopichat_problem, problem_body

log = logging.getLogger("kopichat.api")
# Turns whose client went away: kept referenced until they finish (asyncio holds tasks weakly).
_RUNNING: set[asyncio.Task[None]] = set()

Event = dict[str, str]


async def open_turn_stream(
    run_turn: Callable[[OnToken], Awaitable[TurnResult]],
    shape: Callable[[TurnResult], dict[str, Any]],
) -> AsyncIterator[Event]:
    """Start the turn in its own task and wait for its first event.

    A turn that fails before its first event (an unknown conversation, a turn already running,
    an Idempotency-Key in use or reused, the turn cap, the model or the database down, the
    deadline) raises its error here, before a byte of the response is sent: the route answers
    it with its real status and problem+json, as POST /api/chat does. After that the status is
    200 and a failure can only be an `error` event. Returns the events, the first included."""
    events: asyncio.Queue[Event | BaseException] = asyncio.Queue()

    def on_token(text: str) -> None:
        if text == RESTART:
            events.put_nowait({"event": "restart", "data": "{}"})
            return
        events.put_nowait({"event": "token", "data": json.dumps({"text": text})})

    async def turn() -> None:
        try:
            result = await run_turn(on_token)
        except Exception as exc:
            events.put_nowait(exc)
            return
        events.put_nowait({"event": "done", "data": json.dumps(shape(result), ensure_ascii=False)})

    task = asyncio.create_task(turn())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    first = await events.get()
    if isinstance(first, BaseException):
        raise first
    return _events_from(first, events)


async def _events_from(
    first: Event, events: asyncio.Queue[Event | BaseException]
) -> AsyncIterator[Event]:
    item: Event | BaseException = first
    while True:
        if isinstance(item, BaseException):
            yield _error_event(item)
            return
        yield item
        if item["event"] == "done":
            return
        item = await events.get()


def _error_event(exc: BaseException) -> Event:
    if isinstance(exc, KopichatError):
        _status, body, retry_after = kopichat_problem(exc)
        if retry_after is not None:
            body["retry_after"] = retry_after
    else:
        log.error("unhandled error in a streamed turn: %s", type(exc).__name__, exc_info=exc)
        body = problem_body(500, "internal_error", "Something went wrong on our side.")
    note(code=body["code"])
    return {"event": "error", "data": json.dumps(body, ensure_ascii=False)}
