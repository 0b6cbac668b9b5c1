"""The endpoints. Thin: validate, call the use case, shape the answer."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.security import APIKeyHeader

from agent.bootstrap import Services
from agent.domain import Message, TurnResult, canonical_id
from agent.errors import NoTurnInProgress
from agent.observability import note
from agent.ports import OnToken
from agent.use_case import DebateTurns
from api.access import owner_of
from api.lambda_budget import turn_budget_s
from api.list_cursor import CURSOR_PATTERN, decode_cursor, encode_cursor
from api.live_turns import Event, LiveTurn, LiveTurns, run_cancellable
from api.problems import REQUEST_ID_HEADER, ProblemRoute, problem, problem_responses
from api.schemas import (
    UUID_PATTERN,
    ChatMessage,
    ChatRequestBase,
    ChatResponse,
    ConversationListView,
    ConversationSummaryView,
    ConversationView,
    Status,
)
from api.stream_resume import EVENT_ID_PATTERN, EventId, resume
from api.turn_stream import open_turn_stream

TAG = "kopichat"
PAGE_LIMIT_MAX = 200
LIST_LIMIT_MAX = 100
REPLAYED_HEADER = "Idempotent-Replayed"
_SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {
            "type": "string",
            "description": "<turn>-<n>: send it back as Last-Event-ID (or ?after=) to "
            "GET /api/conversations/{conversation_id}/stream to get the events after it.",
        },
        "event": {
            "type": "string",
            "enum": ["token", "restart", "done", "error", "cancelled"],
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": 'token: {"text": ...}; restart and cancelled: {}; done: the POST '
            "/api/chat body; error: the problem+json body.",
        },
    },
    "required": ["data"],
}


# async on purpose: FastAPI runs a plain `def` dependency on a worker thread, per request.
async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _turns(request: Request) -> DebateTurns:
    turns: DebateTurns = request.app.state.services.turns
    return turns


async def _owner(request: Request) -> str | None:
    return owner_of(request.scope)


async def _request_id_header(
    x_request_id: Annotated[
        str | None,
        Header(
            alias="X-Request-ID",
            description=(
                "Your id for this request (1-128 of A-Z a-z 0-9 . _ : -); it comes back in the "
                "response and appears in the server's logs. Anything else is replaced by a new id."
            ),
        ),
    ] = None,
) -> None:
    """Declares the header in OpenAPI; the request-context middleware does the work."""


TurnsDep = Annotated[DebateTurns, Depends(_turns)]
ServicesDep = Annotated[Services, Depends(_services)]
OwnerDep = Annotated[str | None, Depends(_owner)]
ConversationIdPath = Annotated[
    str, Path(pattern=UUID_PATTERN, description="Matched without regard to case.")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "Optional, e.g. a UUID made by the client per message. A retry with the same key "
            "and the same body gets the first answer back (header Idempotent-Replayed: true) "
            "and stores nothing new, also when it arrives while the first is still running. "
            "The same key with another message or conversation is refused with 422. "
            "Keys are kept for 24 hours."
        ),
    ),
]


_TURN_HEADERS = {
    "X-Request-ID": REQUEST_ID_HEADER,
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def _as_items(messages: list[Message]) -> list[ChatMessage]:
    return [ChatMessage(role=m.role.value, message=m.text) for m in messages]


def _ok_with_headers(description: str, headers: dict[str, Any]) -> dict[int | str, Any]:
    return {200: {"description": description, "headers": headers}}


def _with_links(ok: dict[int | str, Any]) -> dict[int | str, Any]:
    """OpenAPI links from a turn's answer to the operations on its conversation."""
    by_id = {"conversation_id": "$response.body#/conversation_id"}
    ok[200]["links"] = {
        operation: {"operationId": operation, "parameters": by_id}
        for operation in ("get_conversation", "resume_stream", "cancel_turn")
    }
    return ok


class EventStream(Response):
    """The stream routes' response class, as the OpenAPI document names it. They answer with
    sse_starlette's EventSourceResponse, imported at the first stream: its import brings
    uvicorn and click along, which a Lambda cold start would pay for on every request kind."""

    media_type = "text/event-stream"


def _event_source(events: AsyncIterator[Event]) -> Response:
    from sse_starlette import EventSourceResponse

    return EventSourceResponse(events, ping=15)


def build_router(request_model: type[ChatRequestBase], *, api_keys: bool) -> APIRouter:
    guards: list[Any] = [Depends(_request_id_header)]
    if api_keys:  # declared only when the server asks for keys, so the schema tells the truth
        guards.append(Depends(APIKeyHeader(name="X-API-Key", auto_error=False)))
    api = APIRouter(tags=[TAG], dependencies=guards, route_class=ProblemRoute)
    # No parameters here, so FastAPI declares no 422 for them: these routes cannot answer one.
    open_routes = APIRouter(tags=[TAG], route_class=ProblemRoute)
    running = LiveTurns()  # this process's turns, for cancel and for resuming from memory

    @api.post(
        "/api/chat",
        operation_id="chat",
        response_model=ChatResponse,
        summary="Send a message; get the debate's most recent messages back",
        responses={
            **_with_links(
                _ok_with_headers(
                    "The conversation's most recent messages, the bot's reply last.",
                    _TURN_HEADERS,
                )
            ),
            **problem_responses(401, 404, 409, 413, 422, 429, 500, 503, 504),
        },
    )
    async def chat(
        body: Annotated[request_model, Body()],  # type: ignore[valid-type]
        turns: TurnsDep,
        owner: OwnerDep,
        services: ServicesDep,
        http: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ChatResponse:
        request: ChatRequestBase = body
        # On Lambda: what is left of API Gateway's 29 s since the request arrived.
        budget_s = turn_budget_s(http.scope, services.settings.timeout_s)
        work = turns.take_turn(
            request.conversation_id,
            request.message,
            budget_s=budget_s,
            owner=owner,
            idempotency_key=idempotency_key,
        )
        if request.conversation_id is None:  # nothing to cancel by id before it is stored
            result = await work
        else:
            live = LiveTurn(canonical_id(request.conversation_id))
            result = await run_cancellable(live, running, work)
        if result.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return ChatResponse(
            conversation_id=result.conversation_id, message=_as_items(result.recent)
        )

    @api.post(
        "/api/chat/stream",
        operation_id="chat_stream",
        summary="The same turn as POST /api/chat, answered as server-sent events",
        description=(
            'Events: `token` (data `{"text": ...}`, the reply as the model writes it), then '
            "one `done` (data: exactly the POST /api/chat response body, the reply as stored) "
            "or one `error` (data: the problem+json body, with `retry_after` where a "
            "Retry-After header would be). Nothing is sent before the turn's first event: a "
            "request that is not valid, or a turn that fails before its first event (unknown "
            "conversation, another turn running, Idempotency-Key in use or reused, turn cap, "
            "model or database down, deadline), gets its problem+json answer with its real "
            "status, as on POST /api/chat; `error` events carry only failures after the first "
            "event. A client that disconnects does not cancel the turn: it is stored whole, or "
            "not at all if it fails. On AWS Lambda the response is buffered and arrives in one "
            "piece."
        ),
        response_class=EventStream,
        responses={
            200: {
                "description": "The turn's events.",
                # One event (OpenAPI 3.1: the schema of an event stream describes each event).
                "content": {"text/event-stream": {"schema": _SSE_EVENT}},
                "headers": {"X-Request-ID": REQUEST_ID_HEADER},
            },
            **problem_responses(401, 404, 409, 413, 422, 429, 500, 503, 504),
        },
    )
    async def chat_stream(
        body: Annotated[request_model, Body()],  # type: ignore[valid-type]
        turns: TurnsDep,
        owner: OwnerDep,
        services: ServicesDep,
        http: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        request: ChatRequestBase = body
        budget_s = turn_budget_s(http.scope, services.settings.timeout_s)

        def run_turn(on_token: OnToken) -> Awaitable[TurnResult]:
            return turns.take_turn(
                request.conversation_id,
                request.message,
                budget_s=budget_s,
                owner=owner,
                idempotency_key=idempotency_key,
                on_token=on_token,
            )

        def shape(result: TurnResult) -> dict[str, Any]:
            response = ChatResponse(
                conversation_id=result.conversation_id, message=_as_items(result.recent)
            )
            return response.model_dump(mode="json")

        target = request.conversation_id
        live = LiveTurn(
            canonical_id(target) if target is not None else None,
            services.streams,
            timeout_s=services.settings.db_timeout_s,
        )
        # Raises (and so answers with the real status) when the turn fails before its first event.
        events = await open_turn_stream(run_turn, shape, live, running)
        return _event_source(events)

    @api.get(
        "/api/conversations/{conversation_id}/stream",
        operation_id="resume_stream",
        summary="The rest of a streamed turn, after the last event received",
        description=(
            "For a client whose POST /api/chat/stream connection dropped: the events of the "
            "conversation's turn in progress (or of its last streamed turn, for 15 minutes "
            "after it) after the event id given as `Last-Event-ID` or `after`, then the new "
            "ones as they come, to the final `done`, `error` or `cancelled`. Without an id, "
            "or with the id of another turn, the latest turn from its start. The same events "
            "and ids as POST /api/chat/stream. 204 when there is nothing to resume (no turn "
            "runs and the last one was not streamed, or is older than 15 minutes). A first "
            "turn cannot be resumed: the conversation exists once it is stored."
        ),
        response_class=EventStream,
        responses={
            200: {
                "description": "The turn's events after the one given.",
                "content": {"text/event-stream": {"schema": _SSE_EVENT}},
                "headers": {"X-Request-ID": REQUEST_ID_HEADER},
            },
            204: {
                "description": "No turn to resume.",
                "headers": {"X-Request-ID": REQUEST_ID_HEADER},
            },
            **problem_responses(401, 404, 422, 429, 500, 503),
        },
    )
    async def resume_stream(
        conversation_id: ConversationIdPath,
        owner: OwnerDep,
        services: ServicesDep,
        http: Request,
        after: Annotated[
            str | None,
            Query(
                pattern=EVENT_ID_PATTERN,
                description="The last event id received; wins over Last-Event-ID.",
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            Header(
                alias="Last-Event-ID",
                description=(
                    "The last event id received (what EventSource sends). One that is not an "
                    "id of this API is ignored: the latest turn is sent from its start."
                ),
            ),
        ] = None,
    ) -> Response:
        target = canonical_id(conversation_id)
        note(conversation_id=target)
        mark = after or (last_event_id if EventId.valid(last_event_id) else None)
        timeout_s = services.settings.timeout_s + 5.0  # a turn's lease: it ends by then
        events = await resume(
            services.streams,
            running,
            target,
            owner=owner,
            after=EventId.parse(mark) if mark else None,
            wait_s=turn_budget_s(http.scope, timeout_s) or timeout_s,
            timeout_s=services.settings.db_timeout_s,
        )
        if events is None:
            return Response(status_code=204)
        return _event_source(events)

    @api.post(
        "/api/conversations/{conversation_id}/cancel",
        operation_id="cancel_turn",
        status_code=204,
        response_class=Response,
        summary="Stop the conversation's turn in progress; it stores nothing",
        description=(
            "The running turn stops (the model stops writing), nothing of it is stored and "
            "the conversation is free for the next message at once. A stream of the turn "
            "ends with a `cancelled` event; POST /api/chat answers it 409 turn_cancelled. "
            "409 no_turn_in_progress when no turn runs (also for a second cancel). Works "
            "across processes: a turn in another process stops at its next write of events, "
            "or at the latest before it would store its reply. A first turn (no id yet) "
            "cannot be cancelled."
        ),
        responses=problem_responses(401, 404, 409, 422, 429, 500, 503),
    )
    async def cancel_turn(
        conversation_id: ConversationIdPath, owner: OwnerDep, services: ServicesDep
    ) -> Response:
        target = canonical_id(conversation_id)
        note(conversation_id=target)
        if not await services.streams.cancel(
            target, owner=owner, timeout_s=services.settings.db_timeout_s
        ):
            raise NoTurnInProgress(target)
        stopping = [t.task for t in running.of(target) if t.cancel() and t.task is not None]
        if stopping:  # in this process: wait until they have said so to their streams
            await asyncio.wait(stopping, timeout=services.settings.db_timeout_s * 2)
        return Response(status_code=204)

    @api.get(
        "/api/conversations/{conversation_id}",
        operation_id="get_conversation",
        response_model=ConversationView,
        summary="A conversation: topic, thesis and one page of its messages",
        description=(
            "Pages run from the newest messages backwards: the first page (no cursor) holds "
            "the newest `limit` messages, oldest first within the page; `next_cursor` gets the "
            "page before it. A page holds at most `limit` messages and about 250,000 "
            "characters of text (at least one message), so its body stays far below 6 MB."
        ),
        responses=problem_responses(401, 404, 422, 429, 500, 503),
    )
    async def get_conversation(
        conversation_id: ConversationIdPath,
        turns: TurnsDep,
        owner: OwnerDep,
        limit: Annotated[
            int, Query(ge=1, le=PAGE_LIMIT_MAX, description="Messages per page.")
        ] = 50,
        cursor: Annotated[
            str | None,
            Query(
                pattern=r"^[1-9][0-9]{0,9}$",
                description="`next_cursor` of the page after the one wanted.",
            ),
        ] = None,
    ) -> ConversationView:
        page = await turns.transcript(
            conversation_id,
            owner=owner,
            limit=limit,
            older_than=int(cursor) if cursor is not None else None,
        )
        conv = page.conversation
        return ConversationView(
            conversation_id=conv.id,
            topic=conv.stance.topic if conv.stance else None,
            thesis=conv.stance.thesis if conv.stance else None,
            prompt_version=conv.prompt_version,
            created_at=conv.created_at,
            messages=_as_items(page.messages),
            next_cursor=str(page.older) if page.older is not None else None,
        )

    @api.get(
        "/api/conversations",
        operation_id="list_conversations",
        response_model=ConversationListView,
        summary="The caller's conversations, most recently active first",
        description=(
            "Only the conversations of the caller's API key (with keys off: those created "
            "while keys were off). Pages follow `next_cursor`; a conversation that becomes "
            "active while you page moves to the top of the list, so a walk that started "
            "before will not see it again."
        ),
        responses=problem_responses(401, 422, 429, 500, 503),
    )
    async def list_conversations(
        turns: TurnsDep,
        owner: OwnerDep,
        limit: Annotated[
            int, Query(ge=1, le=LIST_LIMIT_MAX, description="Conversations per page.")
        ] = 20,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                description="`next_cursor` of the page before the one wanted (opaque).",
            ),
        ] = None,
        q: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Only conversations whose topic or thesis contains this text, "
                "without regard to case (`%` and `_` are plain characters).",
            ),
        ] = None,
    ) -> ConversationListView:
        after = decode_cursor(cursor) if cursor is not None else None
        found = await turns.conversations(owner=owner, limit=limit, after=after, query=q)
        return ConversationListView(
            conversations=[
                ConversationSummaryView(
                    conversation_id=item.conversation.id,
                    topic=item.conversation.stance.topic if item.conversation.stance else None,
                    thesis=item.conversation.stance.thesis if item.conversation.stance else None,
                    created_at=item.conversation.created_at,
                    updated_at=item.updated_at,
                    turns=item.turns,
                )
                for item in found.conversations
            ],
            next_cursor=encode_cursor(found.next) if found.next is not None else None,
        )

    @api.post(
        "/api/conversations/{conversation_id}/regenerate",
        operation_id="regenerate",
        response_model=ChatResponse,
        summary="Replace the bot's last reply with a new one to the same message",
        description=(
            "Asks the model again for the last user message; the new reply takes the place of "
            "the last one, which is not kept. The side the bot argues does not change. The "
            "answer is the POST /api/chat body. The same deadline, turn lease (409 "
            "turn_in_progress while a turn runs), Idempotency-Key and limits as POST "
            "/api/chat; 409 nothing_to_regenerate when the last message is not a bot reply. "
            "A regeneration is not a turn: it does not count towards the turn cap."
        ),
        responses={
            **_ok_with_headers(
                "The conversation's most recent messages, the new reply last.",
                _TURN_HEADERS,
            ),
            **problem_responses(401, 404, 409, 413, 422, 429, 500, 503, 504),
        },
    )
    async def regenerate(
        conversation_id: ConversationIdPath,
        turns: TurnsDep,
        owner: OwnerDep,
        services: ServicesDep,
        http: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ChatResponse:
        work = turns.regenerate(
            conversation_id,
            budget_s=turn_budget_s(http.scope, services.settings.timeout_s),
            owner=owner,
            idempotency_key=idempotency_key,
        )
        # A cancel of the conversation stops a regeneration too, at once in this process.
        result = await run_cancellable(LiveTurn(canonical_id(conversation_id)), running, work)
        if result.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return ChatResponse(
            conversation_id=result.conversation_id, message=_as_items(result.recent)
        )

    @api.delete(
        "/api/conversations/{conversation_id}",
        operation_id="delete_conversation",
        status_code=204,
        response_class=Response,
        summary="Delete a conversation and every message of it",
        responses=problem_responses(401, 404, 422, 429, 500, 503),
    )
    async def delete_conversation(
        conversation_id: ConversationIdPath, turns: TurnsDep, owner: OwnerDep
    ) -> Response:
        await turns.delete(conversation_id, owner=owner)
        return Response(status_code=204)

    @open_routes.get(
        "/health",
        operation_id="health",
        response_model=Status,
        summary="Liveness",
        responses=_ok_with_headers("The process is up.", {"X-Request-ID": REQUEST_ID_HEADER}),
    )
    async def health() -> Status:
        return Status(status="ok")

    @open_routes.get(
        "/ready",
        operation_id="ready",
        response_model=Status,
        summary="Readiness: the database answers and has the schema",
        responses={
            **_ok_with_headers("The database answers.", {"X-Request-ID": REQUEST_ID_HEADER}),
            **problem_responses(503),
        },
    )
    async def ready(services: ServicesDep) -> Status | object:
        try:
            await services.store.ping()
        except Exception as exc:
            return problem(
                503,
                "database_unavailable",
                f"The database is not ready ({type(exc).__name__}).",
                headers={"Retry-After": "2"},
            )
        return Status(status="ready")

    router = APIRouter()
    router.include_router(api)
    router.include_router(open_routes)
    return router


def include_routes(
    app: FastAPI, request_model: type[ChatRequestBase], *, api_keys: bool = False
) -> None:
    app.include_router(build_router(request_model, api_keys=api_keys))
