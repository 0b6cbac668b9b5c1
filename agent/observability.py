"""Per-request facts for the request's log line, gathered as the request runs, and the spans
of a trace when tracing is on.

The HTTP side opens a record per request; the use case and the adapters add what they learn
(conversation id, model, prompt version, token counts). Outside a request nothing is recorded.

Spans: the adapters mark the work worth a span of its own (`with span("guard", {...}):`). With no
sink installed (tracing off, the default) `span` hands back one shared do-nothing context
manager; agent/adapters/otel.py installs a sink that turns them into OpenTelemetry spans.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Protocol

# The attribute values a span takes here (OpenTelemetry takes these and sequences of them).
SpanValue = str | int | float | bool
# Where the standard OpenTelemetry variables say traces go (the second names traces alone).
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# A model call's token counts, under OpenTelemetry's names for them.
_INPUT_TOKENS = "gen_ai.usage.input_tokens"
_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"

_record: ContextVar[dict[str, object] | None] = ContextVar("kopichat_request_facts", default=None)
# The attributes of the innermost open span, written to it when it ends.
_span_facts: ContextVar[dict[str, SpanValue] | None] = ContextVar(
    "kopichat_span_facts", default=None
)
_NO_SPAN: AbstractContextManager[None] = nullcontext()


class Span(Protocol):
    def set_attribute(self, key: str, value: SpanValue) -> None: ...


class SpanSink(Protocol):
    """Opens a span that is the current one (the parent of spans opened inside it) until it
    ends; an exception that leaves it marks it failed."""

    def open(self, name: str) -> AbstractContextManager[Span]: ...


_sink: SpanSink | None = None


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint is set, and
    neither the SDK nor the trace exporter is switched off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in OTLP_ENDPOINT_VARIABLES)


def trace_to(sink: SpanSink | None) -> None:
    """Send spans to `sink` from now on (None: no spans)."""
    global _sink
    _sink = sink


def span(name: str, attributes: Mapping[str, SpanValue]) -> AbstractContextManager[None]:
    """A span around the block when tracing is on; `note_span` adds attributes to it."""
    if _sink is None:
        return _NO_SPAN
    return _traced(_sink, name, dict(attributes))


@contextmanager
def _traced(sink: SpanSink, name: str, facts: dict[str, SpanValue]) -> Iterator[None]:
    token = _span_facts.set(facts)
    try:
        with sink.open(name) as opened:
            try:
                yield
            finally:
                for key, value in facts.items():
                    opened.set_attribute(key, value)
    finally:
        _span_facts.reset(token)


def note_span(facts: Mapping[str, SpanValue]) -> None:
    """Attributes for the innermost open span (nothing when tracing is off)."""
    current = _span_facts.get()
    if current is not None:
        current.update(facts)


def open_record() -> dict[str, object]:
    """Start a fresh record for the current request (and the tasks and threads it starts)."""
    record: dict[str, object] = {}
    _record.set(record)
    return record


def note(**facts: object) -> None:
    record = _record.get()
    if record is not None:
        record.update(facts)


def add_tokens(prompt: int, completion: int) -> None:
    """Token counts add up over a turn's attempts."""
    record = _record.get()
    if record is not None:
        record["tokens_in"] = _as_int(record.get("tokens_in")) + prompt
        record["tokens_out"] = _as_int(record.get("tokens_out")) + completion
    current = _span_facts.get()
    if current is not None:  # the model call's span
        for key, count in (_INPUT_TOKENS, prompt), (_OUTPUT_TOKENS, completion):
            current[key] = _as_int(current.get(key)) + count


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0
