"""The span hooks of agent.observability: nothing at all while tracing is off; with a sink, the
model call and the guard each open a span, with their attributes, inside the current one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pytest

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.fake_model import FakeDebateModel
from agent.adapters.prompt_files import load_prompt_set
from agent.domain import Stance
from agent.observability import (
    SpanValue,
    add_tokens,
    note_span,
    span,
    trace_to,
    tracing_requested,
)
from agent.understanding.guard import StanceGuard

STANCE = Stance("pineapple on pizza", "Pineapple belongs on pizza.")


@dataclass
class RecordedSpan:
    name: str
    parent: str | None
    attributes: dict[str, SpanValue] = field(default_factory=dict)
    failed: bool = False

    def set_attribute(self, key: str, value: SpanValue) -> None:
        self.attributes[key] = value


_current: ContextVar[RecordedSpan | None] = ContextVar("fake_span", default=None)


class FakeSink:
    """Keeps the spans, finished, in the order they ended."""

    def __init__(self) -> None:
        self.spans: list[RecordedSpan] = []

    @contextmanager
    def open(self, name: str) -> Iterator[RecordedSpan]:
        parent = _current.get()
        opened = RecordedSpan(name, parent.name if parent else None)
        token = _current.set(opened)
        try:
            yield opened
        except BaseException:
            opened.failed = True
            raise
        finally:
            _current.reset(token)
            self.spans.append(opened)


@pytest.fixture
def sink() -> Iterator[FakeSink]:
    fake = FakeSink()
    trace_to(fake)
    try:
        yield fake
    finally:
        trace_to(None)


def test_off_a_span_is_one_shared_do_nothing_block() -> None:
    first, second = span("a", {"x": 1}), span("b", {})
    assert first is second
    with first:
        note_span({"ignored": True})
        add_tokens(3, 4)  # outside a request and a span: nowhere to go, no error


def test_attributes_and_tokens_land_on_the_innermost_span(sink: FakeSink) -> None:
    with span("outer", {"a": 1}):
        with span("inner", {"b": "x"}):
            add_tokens(10, 3)
            add_tokens(5, 2)
            note_span({"c": True})
        note_span({"d": 2.5})
    inner, outer = sink.spans
    assert (inner.name, inner.parent, outer.parent) == ("inner", "outer", None)
    assert inner.attributes == {
        "b": "x",
        "c": True,
        "gen_ai.usage.input_tokens": 15,
        "gen_ai.usage.output_tokens": 5,
    }
    assert outer.attributes == {"a": 1, "d": 2.5}


def test_an_exception_leaves_through_the_span_and_its_attributes_are_kept(
    sink: FakeSink,
) -> None:
    with pytest.raises(ValueError, match="boom"), span("failing", {"a": 1}):
        raise ValueError("boom")
    assert sink.spans == [RecordedSpan("failing", None, {"a": 1}, failed=True)]


def test_a_reply_opens_a_model_span_and_a_guard_span_inside_the_turn(sink: FakeSink) -> None:
    responder = ChainResponder(
        {"v1": load_prompt_set("v1")},
        ChatModelChoice(FakeDebateModel(), False, True, "fake"),
        guard=StanceGuard(canary="", instructions=[]),
        model_spec="fake",
    )

    async def turn() -> str:
        with span("turn", {}):
            return await responder.reply(STANCE, [], "Fruit on pizza is a crime.", "v1", 10.0)

    assert asyncio.run(turn())
    names = [(s.name, s.parent) for s in sink.spans]
    assert names == [("chat fake", "turn"), ("guard", "turn"), ("turn", None)]
    model, guard = sink.spans[0], sink.spans[1]
    assert model.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "fake",
        "kopichat.prompt_version": "v1",
    }
    assert guard.attributes == {
        "kopichat.guard.check": "stance",
        "kopichat.guard.judged": False,
        "kopichat.guard.verdict": "ok",
    }


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "True"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_SERVICE_NAME": "kopichat"}, False),
    ],
)
def test_tracing_is_requested_by_an_otlp_endpoint(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_requested(environ) is wanted
