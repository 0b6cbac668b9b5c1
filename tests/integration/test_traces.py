"""OpenTelemetry traces: `python -m api` with OTEL_EXPORTER_OTLP_ENDPOINT set sends, for each
request, a server span whose children are the database statements, the model call and the
stance guard, to an OTLP/HTTP receiver on loopback; its log lines carry the trace id."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, running_server
from tests.openai_mock import mock_openai
from tests.otlp_receiver import ReceivedSpan, otlp_receiver

SECRET_TEXT = f"my private view on tea {secrets.token_hex(4)}"
EXPORT_HEADER = f"token-{secrets.token_hex(4)}"
CALLER_TRACE = secrets.token_hex(16)
CALLER_SPAN = secrets.token_hex(8)
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER


@dataclass
class Traced:
    spans: list[ReceivedSpan]
    headers: list[dict[str, str]]
    log_lines: list[dict[str, Any]]

    def requests(self, route: str) -> list[ReceivedSpan]:
        """The server spans of the requests to `route`, in the order they were answered."""
        return [
            s
            for s in self.spans
            if s.kind == SERVER_KIND and s.attributes.get("http.route") == route
        ]

    def trace(self, root: ReceivedSpan) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == root.trace_id]

    def descends_from(self, span: ReceivedSpan, root: ReceivedSpan) -> bool:
        by_id = {s.span_id: s for s in self.trace(root)}
        while span.parent_span_id and span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
        return span.span_id == root.span_id


@pytest.fixture(scope="module")
def traced(migrated_mysql_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    """Two turns of a debate; the server stops before the spans are read."""
    tmp = tmp_path_factory.mktemp("traces")
    with mock_openai() as mock, otlp_receiver() as receiver:
        env = {
            "KOPICHAT_MODEL": "openai:gpt-test-mini",
            "OPENAI_API_KEY": "sk-trace-test-not-real",
            "OPENAI_BASE_URL": mock.base_url,
            "DATABASE_URL": migrated_mysql_url,
            "KOPICHAT_ACCESS_LOG": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": f"x-export-token={EXPORT_HEADER}",
            "OTEL_SERVICE_NAME": "kopichat-trace-test",
            # No export on the batch's timer during the test: the spans arrive because the
            # server sends what it holds when it stops.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
        }
        with running_server(env, tmp) as server, httpx.Client(timeout=30) as client:
            first = client.post(
                f"{server.base_url}/api/chat", json={"message": f"Topic: tea. {SECRET_TEXT}"}
            )
            assert first.status_code == 200, first.text
            turn = {"conversation_id": first.json()["conversation_id"], "message": SECRET_TEXT}
            # The second turn comes from a traced caller: its trace goes on here.
            caller = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
            second = client.post(f"{server.base_url}/api/chat", json=turn, headers=caller)
            assert second.status_code == 200, second.text
        yield Traced(receiver.received(), list(receiver.headers), _json_lines(server.log()))


def _json_lines(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.mysql
def test_each_chat_request_is_one_server_span_of_the_named_service(traced: Traced) -> None:
    first, second = traced.requests("/api/chat")
    assert first.name == second.name == "POST /api/chat"
    assert first.parent_span_id == ""  # nobody called with a trace: a new one starts here
    assert (second.trace_id, second.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert {s.service for s in traced.spans} == {"kopichat-trace-test"}
    assert traced.headers
    assert all(h.get("x-export-token") == EXPORT_HEADER for h in traced.headers)
    assert all(h["content-type"] == "application/x-protobuf" for h in traced.headers)


@pytest.mark.mysql
def test_database_statements_are_children_in_the_request_trace(traced: Traced) -> None:
    for request in traced.requests("/api/chat"):
        statements = [s for s in traced.trace(request) if "db.system" in s.attributes]
        assert statements, [s.name for s in traced.trace(request)]
        assert {s.attributes["db.system"] for s in statements} == {"mysql"}
        assert all(traced.descends_from(s, request) for s in statements)
        texts = " ".join(str(s.attributes.get("db.statement", "")) for s in statements)
        assert "INSERT INTO messages" in texts


@pytest.mark.mysql
def test_the_model_call_is_a_child_span_with_model_prompt_version_and_tokens(
    traced: Traced,
) -> None:
    for request in traced.requests("/api/chat"):
        calls = [s for s in traced.trace(request) if s.name == "chat gpt-test-mini"]
        assert len(calls) == 1, [s.name for s in traced.trace(request)]
        call = calls[0]
        assert traced.descends_from(call, request)
        assert call.attributes["gen_ai.provider.name"] == "openai"
        assert call.attributes["gen_ai.request.model"] == "gpt-test-mini"
        assert call.attributes["kopichat.prompt_version"] == "v3"
        assert call.attributes["gen_ai.usage.input_tokens"] == 10  # the mock's usage
        assert call.attributes["gen_ai.usage.output_tokens"] > 0


@pytest.mark.mysql
def test_the_guard_is_a_child_span_with_its_verdict(traced: Traced) -> None:
    for request in traced.requests("/api/chat"):
        guards = [s for s in traced.trace(request) if s.name == "guard"]
        assert guards, [s.name for s in traced.trace(request)]
        assert all(traced.descends_from(g, request) for g in guards)
        assert guards[-1].attributes["kopichat.guard.verdict"] == "ok"


@pytest.mark.mysql
def test_no_message_text_in_any_span(traced: Traced) -> None:
    everything = json.dumps([s.attributes for s in traced.spans] + [s.name for s in traced.spans])
    assert SECRET_TEXT not in everything


@pytest.mark.mysql
def test_the_request_log_line_carries_the_trace_id(traced: Traced) -> None:
    lines = [
        line
        for line in traced.log_lines
        if line["msg"] == "request" and line.get("route") == "/api/chat"
    ]
    requests = traced.requests("/api/chat")
    assert [line["trace_id"] for line in lines] == [r.trace_id for r in requests]
    span_ids = {s.span_id for r in requests for s in traced.trace(r)}
    assert all(line["span_id"] in span_ids for line in lines)
    startup = next(line for line in traced.log_lines if line["msg"].startswith("kopichat ready"))
    assert "trace_id" not in startup  # no span is active at start
    assert "traces on (OTLP)" in startup["msg"]


def test_a_protocol_the_exporter_does_not_speak_stops_the_start(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    }
    done = subprocess.run(
        [sys.executable, "-m", "api"], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "kopichat: configuration error: OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' is not supported; "
        "Kopichat exports traces as http/protobuf (OTLP/HTTP, usually port 4318)"
    )


# A Lambda invocation in a fresh interpreter: the receiver runs in the same process, and the
# spans are read as soon as the handler returns, before anything stops.
_LAMBDA_CHILD = """
import json, os, sys
from tests.otlp_receiver import otlp_receiver
from tests.deploy.lambda_events import build_event, lambda_context
with otlp_receiver() as receiver:
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    from api.lambda_handler import handler
    opening = {"message": "Convince me that tea wins."}
    event = build_event("function_url", "POST", "/api/chat", opening)
    result = handler(event, lambda_context())
    names = [s.name for s in receiver.received()]
    print(json.dumps({"status": result["statusCode"], "spans": names}))
"""


def test_a_lambda_invocation_sends_its_spans_before_it_returns(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "OTEL_BSP_SCHEDULE_DELAY": "600000",  # only the handler's flush can send them in time
    }
    done = subprocess.run(
        [sys.executable, "-c", _LAMBDA_CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["status"] == 200
    assert {"POST /api/chat", "chat fake", "guard"} <= set(found["spans"])
    assert any(name.startswith("INSERT ") for name in found["spans"])
