"""An OpenAI-compatible chat completions server on loopback, recording what it receives.

Modes: "ok" answers (JSON for the opening call, text otherwise), "hang" never answers in time,
"error" returns 500, "slow" answers after `delay_s`, "garbage" answers 200 with a body that is
not a chat completion. `on_request`, if set, runs when a request arrives (before the answer).

`chunk_delay_s` spaces the chunks of a streamed answer (a model that writes slowly but steadily).
`failures` scripts the next answers as errors, one per request, before the mode applies: each is
(status, headers), e.g. (429, {"retry-after": "1"}), or (0, {}) to close the connection without
an answer.

`opening_content` and `opening_finish_reason` script the opening call's answer (malformed, cut
off, wrapped in prose...). A request whose system prompt says it grades a debate gets a verdict
from `judge` (see evals/judge.py), or the content of `judge_content` when that is set.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENING_JSON = {
    "kind": "assigned",
    "topic": "pineapple on pizza",
    "thesis": "Pineapple belongs on pizza.",
    "reply": "Pineapple belongs on pizza: sweet and salty is a classic pairing. Can you deny it?",
}


JUDGE_MARKER = "You grade one reply of a debate bot"


def concession_judge(user_message: str) -> dict[str, Any]:
    """A stand-in judge for tests: a reply that uses a concession phrase does not hold."""
    from agent.understanding.concessions import concession_in

    gave_in = concession_in(user_message.split("REPLY:", 1)[-1]) is not None
    return {"holds_thesis": not gave_in, "on_topic": True, "rebuts": not gave_in}


@dataclass
class MockOpenAI:
    base_url: str = ""
    mode: str = "ok"
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    opening_content: str | None = None
    opening_finish_reason: str = "stop"
    judge: Callable[[str], dict[str, Any]] = concession_judge
    judge_content: str | None = None

    on_request: Callable[[], None] | None = None
    chunk_delay_s: float = 0.0
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def reset(self) -> None:
        self.mode, self.delay_s, self.chunk_delay_s = "ok", 0.0, 0.0
        with self.lock:
            self.failures.clear()
        self.opening_content, self.opening_finish_reason = None, "stop"
        self.judge, self.judge_content = concession_judge, None
        self.on_request = None

    def chat_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)


def _completion(model: str, content: str, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stream",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _handler(mock: MockOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with mock.lock:
                mock.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "auth": self.headers.get("authorization"),
                        "at": time.monotonic(),
                    }
                )
            if mock.on_request is not None:
                mock.on_request()
            with mock.lock:
                failure = mock.failures.pop(0) if mock.failures else None
            if failure is not None:
                self._fail(*failure)
                return
            if mock.mode == "garbage":
                self._send_raw(200, b"<html><body>502 Bad Gateway</body></html>")
                return
            if mock.mode == "hang":
                time.sleep(60)
                return
            if mock.mode == "slow":
                time.sleep(mock.delay_s)
            if mock.mode == "error":
                self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                return
            system = body["messages"][0]["content"]
            model = body.get("model", "?")
            if JUDGE_MARKER in system:
                verdict = mock.judge_content or json.dumps(
                    mock.judge(body["messages"][-1]["content"])
                )
                self._send(200, _completion(model, verdict))
            elif "Answer with one JSON object" in system:
                content = mock.opening_content
                if content is None:
                    content = json.dumps(OPENING_JSON)
                self._send(200, _completion(model, content, mock.opening_finish_reason))
            elif body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                content = (
                    f"Rebuttal #{len(mock.requests)}, streamed word by word as the reply grows."
                )
                self._stream(model, content, include_usage)
            else:
                self._send(200, _completion(model, f"Rebuttal #{len(mock.requests)}"))

        def _stream(self, model: str, content: str, include_usage: bool) -> None:
            """A chat completion as OpenAI streams it: one chunk per word, then [DONE]."""
            words = content.split(" ")
            chunks = [
                _chunk(model, {"role": "assistant", "content": ("" if i == 0 else " ") + w})
                for i, w in enumerate(words)
            ]
            chunks.append(_chunk(model, {}, finish_reason="stop"))
            if include_usage:
                usage = {"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10}
                chunks.append({**_chunk(model, {}), "choices": [], "usage": usage})
            lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
            data = [line.encode() for line in lines]
            try:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(sum(map(len, data))))
                self.end_headers()
                for line in data:
                    self.wfile.write(line)
                    self.wfile.flush()
                    if mock.chunk_delay_s:
                        time.sleep(mock.chunk_delay_s)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _fail(self, status: int, headers: dict[str, str]) -> None:
            if status == 0:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = json.dumps({"error": {"message": "scripted failure", "type": "error"}})
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_raw(status, json.dumps(payload).encode())

        def _send_raw(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def mock_openai() -> Iterator[MockOpenAI]:
    mock = MockOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mock))
    server.daemon_threads = True
    mock.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mock
    finally:
        server.shutdown()
        server.server_close()
