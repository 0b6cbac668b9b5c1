"""The endpoints. Thin: validate, call the use case, shape the answer."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.

from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request

from agent.bootstrap import Services
from agent.domain import Message
from agent.use_case import DebateTurns
from api.lambda_budget import turn_budget_s
from api.problems import problem, problem_responses
from api.schemas import (
    UUID_PATTERN,
    ChatMessage,
    ChatRequestBase,
    ChatResponse,
    ConversationView,
    Status,
)


# async on purpose: FastAPI runs a plain `def` dependency on a worker thread, per request.
async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _turns(request: Request) -> DebateTurns:
    turns: DebateTurns = request.app.state.services.turns
    return turns


TurnsDep = Annotated[DebateTurns, Depends(_turns)]
ServicesDep = Annotated[Services, Depends(_services)]


def _as_items(messages: list[Message]) -> list[ChatMessage]:
    return [ChatMessage(role=m.role.value, message=m.text) for m in messages]


def build_router(request_model: type[ChatRequestBase]) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/api/chat",
        response_model=ChatResponse,
        summary="Send a message; get the debate's most recent messages back",
        responses=problem_responses(401, 404, 409, 413, 422, 429, 500, 503, 504),
    )
    async def chat(
        body: Annotated[request_model, Body()],  # type: ignore[valid-type]
        turns: TurnsDep,
        services: ServicesDep,
        http: Request,
    ) -> ChatResponse:
        request: ChatRequestBase = body
        # On Lambda: what is left of API Gateway's 29 s since the request arrived.
        budget_s = turn_budget_s(http.scope, services.settings.timeout_s)
        result = await turns.take_turn(request.conversation_id, request.message, budget_s=budget_s)
        return ChatResponse(
            conversation_id=result.conversation_id, message=_as_items(result.recent)
        )

    @router.get(
        "/api/conversations/{conversation_id}",
        response_model=ConversationView,
        summary="A whole conversation: topic, thesis and every message, oldest first",
        responses=problem_responses(404, 422, 500, 503),
    )
    async def conversation(
        conversation_id: Annotated[str, Path(pattern=UUID_PATTERN)], turns: TurnsDep
    ) -> ConversationView:
        transcript = await turns.transcript(conversation_id)
        conv = transcript.conversation
        return ConversationView(
            conversation_id=conv.id,
            topic=conv.stance.topic if conv.stance else None,
            thesis=conv.stance.thesis if conv.stance else None,
            prompt_version=conv.prompt_version,
            created_at=conv.created_at,
            messages=_as_items(transcript.messages),
        )

    @router.get("/health", response_model=Status, summary="Liveness")
    async def health() -> Status:
        return Status(status="ok")

    @router.get(
        "/ready",
        response_model=Status,
        summary="Readiness: the database answers and has the schema",
        responses=problem_responses(503),
    )
    async def ready(services: ServicesDep) -> Status | object:
        try:
            await services.store.ping()
        except Exception as exc:
            return problem(
                503, "database_unavailable", f"The database is not ready ({type(exc).__name__})."
            )
        return Status(status="ready")

    return router


def include_routes(app: FastAPI, request_model: type[ChatRequestBase]) -> None:
    app.include_router(build_router(request_model))
