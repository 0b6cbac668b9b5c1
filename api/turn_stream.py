"""`POST /api/chat/stream`: one turn as server-sent events.

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


async def turn_events(
    run_turn: Callable[[OnToken], Awaitable[TurnResult]],
    shape: Callable[[TurnResult], dict[str, Any]],
) -> AsyncIterator[Event]:
    """Run the turn in its own task and yield its events until the final one."""
    events: asyncio.Queue[Event] = asyncio.Queue()

    def on_token(text: str) -> None:
        if text == RESTART:
            events.put_nowait({"event": "restart", "data": "{}"})
            return
        events.put_nowait({"event": "token", "data": json.dumps({"text": text})})

    async def turn() -> None:
        try:
            result = await run_turn(on_token)
            final = {"event": "done", "data": json.dumps(shape(result), ensure_ascii=False)}
        except KopichatError as exc:
            _status, body, retry_after = kopichat_problem(exc)
            note(code=body["code"])
            if retry_after is not None:
                body["retry_after"] = retry_after
            final = {"event": "error", "data": json.dumps(body, ensure_ascii=False)}
        except Exception as exc:
            log.exception("unhandled error in a streamed turn: %s", type(exc).__name__)
            body = problem_body(500, "internal_error", "Something went wrong on our side.")
            note(code="internal_error")
            final = {"event": "error", "data": json.dumps(body)}
        events.put_nowait(final)

    task = asyncio.create_task(turn())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    while True:
        event = await events.get()
        yield event
        if event["event"] not in {"token", "restart"}:
            return
