"""The HTTP side of traces: a server span for each request (the parent of the database,
model and guard spans), the trace id in the log lines, and the spans still in the batch sent
when the server stops. Imported only when tracing is on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from agent.adapters.otel import Tracing, current_trace_ids
from api.logs import include_trace_ids


def trace_requests(app: FastAPI, tracing: Tracing) -> None:
    """OTEL_PYTHON_FASTAPI_EXCLUDED_URLS (e.g. `health,ready`) leaves routes out."""
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider,
        # No span for each ASGI message sent or received: one span per request.
        exclude_spans=["receive", "send"],
    )
    include_trace_ids(current_trace_ids)
    _flush_at_shutdown(app, tracing)


def _flush_at_shutdown(app: FastAPI, tracing: Tracing) -> None:
    """uvicorn ends a stopped server by raising the signal again once it has shut down, so the
    SDK's own flush at exit never runs: the ASGI lifespan's end does it instead."""
    serving = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        try:
            async with serving(served) as state:
                yield state
        finally:
            tracing.flush()

    app.router.lifespan_context = lifespan
