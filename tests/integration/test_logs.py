"""Structured logs: one JSON object per line, a request line per request with the facts an
operator needs, message text only at DEBUG, and no configured secret anywhere."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import Server, running_server
from tests.openai_mock import MockOpenAI, mock_openai

pytestmark = pytest.mark.mysql

OPENAI_KEY = f"sk-logtest-{secrets.token_hex(8)}"
API_KEY = f"api-logtest-{secrets.token_hex(8)}"
DB_PASSWORD = f"pw{secrets.token_hex(8)}"
SECRET_TEXT = "my very private opinion about tea"
REQUESTS_SENT = 9  # by exercise()


@dataclass
class Logged:
    server: Server
    bodies: list[str]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.server.log().splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        """Request lines, less the start-up health polls of running_server."""
        return [
            line for line in self.lines() if line["msg"] == "request" and line["route"] != "/health"
        ]


@pytest.fixture(scope="module")
def db_user_url(migrated_mysql_url: str) -> Iterator[str]:
    """A database user with a password, so that there is a password to leak."""
    url = make_url(migrated_mysql_url)
    user = f"kc_log_{secrets.token_hex(3)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'"))
        conn.execute(text(f"GRANT ALL ON {url.database}.* TO '{user}'@'127.0.0.1'"))
    try:
        yield url.set(username=user, password=DB_PASSWORD).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'"))
        admin.dispose()


def serve(level: str, db_url: str, tmp: Path, mock: MockOpenAI) -> AbstractContextManager[Server]:
    env = {
        "KOPICHAT_MODEL": "openai:gpt-test-mini",
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": mock.base_url,
        "DATABASE_URL": db_url,
        "KOPICHAT_API_KEYS": API_KEY,
        "KOPICHAT_LOG_LEVEL": level,
        "KOPICHAT_ACCESS_LOG": "true",
        "KOPICHAT_TIMEOUT_S": "3",
    }
    return running_server(env, tmp)


def exercise(server: Server, mock: MockOpenAI) -> list[str]:
    """A debate, then every kind of failure a client can meet; returns the response bodies."""
    key = {"X-API-Key": API_KEY}
    bodies: list[str] = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:

        def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = client.request(method, path, **kwargs)
            bodies.append(response.text)
            return response

        first = send(
            "POST",
            "/api/chat",
            json={"message": f"Topic: tea. {SECRET_TEXT}"},
            headers={**key, "X-Request-ID": "trace-first-turn"},
        )
        conv = first.json()["conversation_id"]
        turn = {"conversation_id": conv, "message": SECRET_TEXT}
        send("POST", "/api/chat", json=turn, headers=key)
        send("GET", f"/api/conversations/{conv}", headers=key)
        send("POST", "/api/chat", json={"message": "no key"})
        send("POST", "/api/chat", json={"message": "bad key"}, headers={"X-API-Key": "nope" * 5})
        unknown = {"conversation_id": str(uuid.uuid4()), "message": "x"}
        send("POST", "/api/chat", json=unknown, headers=key)
        send("POST", "/api/chat", json={"message": ""}, headers=key)
        mock.mode = "error"
        send("POST", "/api/chat", json=turn, headers=key)
        mock.mode = "ok"
        send("GET", "/ready")
    return bodies


@pytest.fixture(scope="module")
def info_log(db_user_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    tmp = tmp_path_factory.mktemp("logs-info")
    with mock_openai() as mock, serve("info", db_user_url, tmp, mock) as srv:
        logged = Logged(srv, exercise(srv, mock))
        # The line of a request is written just after its response is sent: give the last one
        # a moment to land (a hang guard, not a timing check).
        give_up = time.monotonic() + 10
        while len(logged.requests()) < REQUESTS_SENT and time.monotonic() < give_up:
            time.sleep(0.05)
        yield logged


def test_every_line_is_json_and_every_request_has_one_line(info_log: Logged) -> None:
    lines = info_log.lines()
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    requests = info_log.requests()
    assert [r["status"] for r in requests] == [200, 200, 200, 401, 401, 404, 422, 503, 200]
    assert all(isinstance(r["latency_ms"], float) for r in requests)
    assert all(r["request_id"] for r in requests)


def test_a_turn_line_carries_what_an_operator_needs(info_log: Logged) -> None:
    requests = info_log.requests()
    first = requests[0]
    assert first["request_id"] == "trace-first-turn"
    assert (first["method"], first["route"]) == ("POST", "/api/chat")
    assert first["model"] == "openai gpt-test-mini"
    assert first["prompt_version"] == "v3"
    assert (first["tokens_in"], first["tokens_out"]) == (10, 10)  # the mock's usage
    assert uuid.UUID(first["conversation_id"])
    assert requests[2]["route"] == "/api/conversations/{conversation_id}"
    assert requests[3]["code"] == "unauthorized"
    assert requests[5]["code"] == "conversation_not_found"
    assert requests[6]["code"] == "validation_error"
    failed = requests[7]
    assert failed["code"] == "model_unavailable"
    assert failed["conversation_id"] == first["conversation_id"]
    assert failed["level"] == "warning"


def test_every_line_of_one_request_shares_its_request_id(info_log: Logged) -> None:
    failed_id = info_log.requests()[7]["request_id"]
    model_lines = [line for line in info_log.lines() if line["logger"] == "kopichat.model"]
    said = [(line.get("request_id"), line["msg"]) for line in model_lines]
    # The failed call's retry and failure lines carry the failed request's id; any other model
    # line (a guard suspicion on an earlier turn) carries the id of the request it belongs to.
    failures = [line for line in model_lines if "failed" in line["msg"] or "again" in line["msg"]]
    assert failures, said
    assert {line.get("request_id") for line in failures} == {failed_id}, said
    sent = {request["request_id"] for request in info_log.requests()}
    assert {line.get("request_id") for line in model_lines} <= sent, said


def test_no_message_text_at_info(info_log: Logged) -> None:
    assert SECRET_TEXT not in info_log.server.log()


def test_no_secret_in_any_log_line_or_error_body(info_log: Logged) -> None:
    log = info_log.server.log()
    everything = log + "\n".join(info_log.bodies)
    for secret in (OPENAI_KEY, API_KEY, DB_PASSWORD):
        assert secret not in everything
    assert "***" in log  # the database URL is logged, with its password masked


def test_message_text_appears_at_debug_and_secrets_still_do_not(
    db_user_url: str, tmp_path: Path
) -> None:
    with mock_openai() as mock, serve("debug", db_user_url, tmp_path, mock) as srv:
        exercise(srv, mock)
        log = srv.log()
    assert SECRET_TEXT in log
    for secret in (OPENAI_KEY, API_KEY, DB_PASSWORD):
        assert secret not in log
