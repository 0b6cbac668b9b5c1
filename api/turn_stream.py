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
  stored: tidied, regenerated or replaced by the guard, so it may differ from the tokens),
  `error`, data the problem+json body (with `retry_after` seconds where `Retry-After` would be),
  or `cancelled`, data `{}` (POST /api/conversations/{id}/cancel stopped the turn; it stored
  nothing).

Every event has an SSE `id`, `<turn>-<n>`: a key of the turn and the event's number in it. For a
conversation that exists, the events are also kept (api/live_turns.py) so that a client whose
connection dropped can get the rest with GET /api/conversations/{id}/stream and the last id.

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
from agent.errors import KopichatError, TurnCancelled
from agent.observability import note
from agent.ports import RESTART, OnToken
from api.live_turns import Event, LiveTurn, LiveTurns
from api.problems import kopichat_problem, problem_body

log = logging.getLogger("kopichat.api")
# Turns whose client went away: kept referenced until they finish (asyncio holds tasks weakly).
_RUNNING: set[asyncio.Task[None]] = set()


async def open_turn_stream(
    run_turn: Callable[[OnToken], Awaitable[TurnResult]],
    shape: Callable[[TurnResult], dict[str, Any]],
    live: LiveTurn,
    running: LiveTurns,
) -> AsyncIterator[Event]:
    """Start the turn in its own task and wait for its first event.

    A turn that fails before its first event (an unknown conversation, a turn already running,
    an Idempotency-Key in use or reused, the turn cap, the model or the database down, the
    deadline) raises its error here, before a byte of the response is sent: the route answers
    it with its real status and problem+json, as POST /api/chat does. After that the status is
    200 and a failure can only be an `error` event. Returns the events, the first included."""
    early: list[BaseException] = []

    def on_token(text: str) -> None:
        if text == RESTART:
            live.add("restart", "{}")
            return
        live.add("token", json.dumps({"text": text}))

    async def turn() -> None:
        try:
            result = await run_turn(on_token)
        except asyncio.CancelledError:
            if not live.cancel_requested:
                raise
            await live.finish("cancelled", "{}")
            return
        except TurnCancelled:
            await live.finish("cancelled", "{}")
            return
        except Exception as exc:
            if not live.events:
                early.append(exc)
                return
            await live.finish("error", _error_data(exc))
            return
        await live.finish("done", json.dumps(shape(result), ensure_ascii=False))

    async def registered_turn() -> None:
        running.add(live)  # until its final event is out: for cancel and for resuming here
        try:
            await turn()
        finally:
            running.remove(live)

    task = asyncio.create_task(registered_turn())
    live.task = task
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    await live.first_news()
    if early:
        raise early[0]
    if not live.events:  # the task was cancelled (the server is shutting down)
        raise asyncio.CancelledError()
    return live.follow(0)


def _error_data(exc: BaseException) -> str:
    if isinstance(exc, KopichatError):
        _status, body, retry_after = kopichat_problem(exc)
        if retry_after is not None:
            body["retry_after"] = retry_after
    else:
        log.error("unhandled error in a streamed turn: %s", type(exc).__name__, exc_info=exc)
        body = problem_body(500, "internal_error", "Something went wrong on our side.")
    note(code=body["code"])
    return json.dumps(body, ensure_ascii=False)
