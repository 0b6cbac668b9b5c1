"""The composition root: settings in, a wired DebateTurns out. Called once per process."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from agent.adapters.aws import with_openai_key_from_secret
from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import ChatModelChoice, make_chat_model
from agent.adapters.prompt_files import DEFAULT_PROMPTS_DIR, PromptSet, load_prompt_library
from agent.adapters.sql.engine import create_schema_if_sqlite, engine_from_settings
from agent.adapters.sql.store import SqlConversationStore
from agent.adapters.sql.turn_streams import SqlTurnStreams
from agent.errors import ConfigError
from agent.observability import tracing_requested
from agent.settings import Settings
from agent.understanding.guard import StanceGuard
from agent.use_case import DebateTurns, TurnPolicy

if TYPE_CHECKING:
    from agent.adapters.otel import Tracing

log = logging.getLogger("kopichat")


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    turns: DebateTurns
    store: SqlConversationStore
    engine: Engine
    model_description: str
    streams: SqlTurnStreams  # events of streamed turns, and cancel
    # OpenTelemetry traces, when the OTEL_* variables ask for them.
    tracing: Tracing | None = None


def build_services(settings: Settings) -> Services:
    """Raises ConfigError (one line naming the setting) for anything misconfigured."""
    prompts_dir = Path(settings.prompts_dir) if settings.prompts_dir else DEFAULT_PROMPTS_DIR
    library = load_prompt_library(settings.prompt_version, prompts_dir)
    settings = with_openai_key_from_secret(settings)
    choice = make_chat_model(settings)
    engine = engine_from_settings(settings)
    tracing = _start_tracing(engine)
    create_schema_if_sqlite(engine)
    store = SqlConversationStore(engine, timeout_s=settings.db_timeout_s)
    policy = TurnPolicy(
        history_limit=settings.history_limit,
        context_messages=settings.context_messages,
        timeout_s=settings.timeout_s,
        max_turns=settings.max_turns,
        prompt_version=settings.prompt_version,
        commit_reserve_s=min(settings.db_timeout_s, 2.0),
    )
    guard = _stance_guard(settings, library, choice) if settings.guard else None
    responder = ChainResponder(
        library, choice, canary=settings.canary, guard=guard, model_spec=settings.model_spec
    )
    turns = DebateTurns(store, responder, policy)
    log.info(
        "kopichat ready: model %s; database %s; prompts %s (%s); API keys %s; rate limit %s; "
        "stance guard %s; traces %s",
        choice.description,
        engine.url.render_as_string(hide_password=True),
        settings.prompt_version,
        ", ".join(sorted(library)),
        f"on ({len(settings.api_key_hashes)})" if settings.api_key_hashes else "off",
        settings.rate_limit or "off",
        _guard_description(settings),
        "on (OTLP)" if tracing else "off",
    )
    return Services(
        settings, turns, store, engine, choice.description, SqlTurnStreams(store), tracing
    )


def _start_tracing(engine: Engine) -> Tracing | None:
    """OpenTelemetry is imported only here, and only when an OTLP endpoint is set."""
    if not tracing_requested(os.environ):
        return None
    try:
        from agent.adapters.otel import start_tracing
    except ImportError as exc:
        raise ConfigError(
            "OTEL_EXPORTER_OTLP_ENDPOINT: traces need the otel extra "
            "(pip install -c requirements.lock '.[otel]')"
        ) from exc
    tracing = start_tracing(os.environ)
    tracing.instrument_engine(engine)
    return tracing


def _stance_guard(
    settings: Settings, library: dict[str, PromptSet], debater: ChatModelChoice
) -> StanceGuard:
    judge = None
    if settings.judge_model_spec:
        from agent.adapters.judge import guard_judge

        # The debate model judges too, by default: the same client (its connection pool, and
        # one SDK client built at a cold start instead of two).
        choice = (
            debater
            if settings.judge_model_spec == settings.model_spec
            else make_chat_model(settings.model_copy(update={"model": settings.judge_model_spec}))
        )
        method = choice.structured_method or "provider_default"
        judge = guard_judge(choice.model, method, settings.guard_judge_timeout_s)
    instructions = [text for prompts in library.values() for text in prompts.instructions()]
    return StanceGuard(
        canary=settings.canary,
        instructions=instructions,
        judge=judge,
        judge_timeout_s=settings.guard_judge_timeout_s,
    )


def _guard_description(settings: Settings) -> str:
    if not settings.guard:
        return "off"
    return f"on, judge {settings.judge_model_spec}" if settings.judge_model_spec else "on"
