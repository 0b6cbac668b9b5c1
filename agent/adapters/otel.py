"""OpenTelemetry traces, sent over OTLP/HTTP (protobuf) where the standard variables say.

Imported only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set
(agent/bootstrap.py): with tracing off none of this is loaded. The exporter, the
batch processor, the sampler and the resource read their own OTEL_* variables (headers,
timeout, compression, OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES). One tracer provider per process, built on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    Span,
    Tracer,
    format_span_id,
    format_trace_id,
    get_current_span,
    set_tracer_provider,
)
from sqlalchemy import Engine

from agent.errors import ConfigError
from agent.observability import trace_to

SERVICE = "kopichat"
# The only protocol of the installed exporter (the gRPC one would bring grpcio, ~10 MB).
PROTOCOL = "http/protobuf"
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


@dataclass(frozen=True, slots=True)
class Tracing:
    provider: TracerProvider

    def instrument_engine(self, engine: Engine) -> None:
        """A span for each statement the engine runs, a child of the span current at the time."""
        instrumentor = SQLAlchemyInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            # Its declared range ends below SQLAlchemy 2.1, whose engine events it uses are the
            # same: tests/integration/test_traces.py checks the statement spans on 2.1.
            instrumentor.instrument(
                engine=engine, tracer_provider=self.provider, skip_dep_check=True
            )

    def flush(self, timeout_ms: int = 2000) -> bool:
        """Export the spans waiting in the batch now (Lambda freezes the process after each
        invocation, so the batch's own timer may never fire)."""
        return self.provider.force_flush(timeout_ms)


class _SpanSink:
    """agent.observability's spans as OpenTelemetry spans of this service."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def open(self, name: str) -> AbstractContextManager[Span]:
        return self._tracer.start_as_current_span(name)


_started: list[Tracing] = []


def start_tracing(environ: Mapping[str, str]) -> Tracing:
    """The process's tracing, started on the first call. Raises ConfigError for a protocol the
    exporter does not speak."""
    if _started:
        return _started[0]
    for variable in _PROTOCOL_VARIABLES:
        protocol = environ.get(variable, "").strip()
        if protocol and protocol != PROTOCOL:
            raise ConfigError(
                f"{variable}: '{protocol}' is not supported; Kopichat exports traces as "
                f"{PROTOCOL} (OTLP/HTTP, usually port 4318)"
            )
        if protocol:
            break
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    set_tracer_provider(provider)  # for any other instrumented library in the process
    trace_to(_SpanSink(provider.get_tracer("kopichat")))
    tracing = Tracing(provider)
    _started.append(tracing)
    return tracing


def current_trace_ids() -> tuple[str, str] | None:
    """The trace id and span id of the span active here, as hex, or None."""
    context = get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)


def _resource() -> Resource:
    """OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name the service; else it is `kopichat`."""
    detected = Resource.create()
    if not str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected
    return Resource({**detected.attributes, SERVICE_NAME: SERVICE}, detected.schema_url)
