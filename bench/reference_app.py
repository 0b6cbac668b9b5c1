"""The reference for Kopichat's per-turn overhead: a minimal FastAPI app that does a turn's
database work and nothing else.

Same schema, same seeded conversations, same driver and pool settings (SQLAlchemy Core over
PyMySQL, `agent.adapters.sql.engine.make_engine`), same `POST /api/chat` JSON contract, and the
same statements a Kopichat turn sends: one transaction that takes the turn lease and reads the
conversation with its newest 10 messages, then one that checks and clears the lease and inserts
the user's message and a fixed reply. No model, no chain, no guard, no middleware, no logging.
`overhead_ratio` is Kopichat's p50 over this app's.

Not part of the product. `python -m bench.reference_app` serves it on HOST:PORT for DATABASE_URL.
"""

# No `from __future__ import annotations`: FastAPI must see the request model built at runtime.

import os
import secrets
import sys
from datetime import UTC, datetime, timedelta

import uvicorn
from fastapi import FastAPI, HTTPException
from sqlalchemy import Engine

from agent.adapters.sql.engine import make_engine
from agent.adapters.sql.store import _CONVERSATION_AND_WINDOW, _END_TURN, _TAKE_LEASE
from agent.adapters.sql.tables import messages
from api.schemas import ChatMessage, ChatRequestBase, ChatResponse, Status, chat_request_model

WINDOW = 10  # messages read per turn, as Kopichat's default context
HISTORY_LIMIT = 5  # messages returned
REPLY = "A fixed reply: the reference app does the database work of a turn and nothing else."


def take_turn(engine: Engine, conversation_id: str, text: str) -> list[ChatMessage]:
    now = datetime.now(UTC).replace(tzinfo=None)
    token = secrets.token_hex(16)
    lease = {"cid": conversation_id, "now": now, "token": token}
    with engine.begin() as conn:
        taken = conn.execute(_TAKE_LEASE, {**lease, "until": now + timedelta(seconds=30)})
        rows = conn.execute(_CONVERSATION_AND_WINDOW, {"cid": conversation_id, "window": WINDOW})
        recent = [r for r in rows.all() if r.seq is not None]
        if taken.rowcount != 1 or not recent:
            raise HTTPException(409 if recent else 404)
    recent.reverse()
    with engine.begin() as conn:
        if conn.execute(_END_TURN, {**lease, "at": now}).rowcount != 1:
            raise HTTPException(409)
        conn.execute(
            messages.insert(),
            [
                {
                    "conversation_id": conversation_id,
                    "seq": recent[-1].seq + offset,
                    "role": role,
                    "content": content,
                    "created_at": now,
                }
                for offset, (role, content) in enumerate((("user", text), ("bot", REPLY)), 1)
            ],
        )
    window = [ChatMessage(role=r.role, message=r.content) for r in recent]
    window += [ChatMessage(role="user", message=text), ChatMessage(role="bot", message=REPLY)]
    return window[-HISTORY_LIMIT:]


def create_reference_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Reference: a turn's database work")
    request_model = chat_request_model(2000)  # the same validation as Kopichat's

    # A plain `def`: FastAPI runs it on its thread pool, as a sync driver needs.
    @app.post("/api/chat", response_model=ChatResponse)
    def chat(body: request_model) -> ChatResponse:  # type: ignore[valid-type]
        request: ChatRequestBase = body
        if request.conversation_id is None:
            raise HTTPException(422)
        return ChatResponse(
            conversation_id=request.conversation_id,
            message=take_turn(engine, request.conversation_id, request.message),
        )

    @app.get("/health", response_model=Status)
    def health() -> Status:
        return Status(status="ok")

    return app


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("reference: DATABASE_URL is required", file=sys.stderr)
        return 2
    uvicorn.run(
        create_reference_app(make_engine(url)),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8002")),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
