"""An OpenAI-compatible chat completions server on loopback, recording what it receives.

Modes: "ok" answers (JSON for the opening call, text otherwise), "hang" never answers in time,
"error" returns 500, "slow" answers after `delay_s`, "garbage" answers 200 with a body that is
not a chat completion. `on_request`, if set, runs when a request arrives (before the answer).
"""

from __future__ import annotations

import json
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


@dataclass
class MockOpenAI:
    base_url: str = ""
    mode: str = "ok"
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[], None] | None = None

    def chat_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
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
                    {"path": self.path, "body": body, "auth": self.headers.get("authorization")}
                )
            if mock.on_request is not None:
                mock.on_request()
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
            opening = "Answer with one JSON object" in system
            content = json.dumps(OPENING_JSON) if opening else f"Rebuttal #{len(mock.requests)}"
            self._send(200, _completion(body.get("model", "?"), content))

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
