"""API keys, per-key conversations, the rate limit and CORS, over a real uvicorn server."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, running_server

KEY_A = "alpha-key-0123456789abcdef"
KEY_B = "beta-key-fedcba9876543210"  # configured by its hash only
ORIGIN = "https://app.example.com"
OPENING = "Topic: tea. You argue that tea beats coffee."


def keys_setting() -> str:
    return f"{KEY_A}, sha256:{hashlib.sha256(KEY_B.encode()).hexdigest()}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("access")
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp / 'access.db'}",
        "KOPICHAT_API_KEYS": keys_setting(),
        "KOPICHAT_CORS_ORIGINS": ORIGIN,
        "KOPICHAT_ACCESS_LOG": "true",
    }
    with running_server(env, tmp) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def as_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_without_a_valid_key_the_api_answers_401(client: httpx.Client) -> None:
    for headers in ({}, as_key("wrong-key-0123456789"), as_key(KEY_A + "x")):
        response = client.post("/api/chat", json={"message": OPENING}, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"
        assert "X-API-Key" in response.headers["www-authenticate"]
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


def test_the_schema_declares_the_key(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {"APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    assert spec["paths"]["/api/chat"]["post"]["security"] == [{"APIKeyHeader": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_a_conversation_is_visible_only_to_the_key_that_created_it(client: httpx.Client) -> None:
    first = client.post("/api/chat", json={"message": OPENING}, headers=as_key(KEY_A))
    assert first.status_code == 200, first.text
    conv = first.json()["conversation_id"]
    path = f"/api/conversations/{conv}"

    other = as_key(KEY_B)
    for response in (
        client.get(path, headers=other),
        client.post(
            "/api/chat", json={"conversation_id": conv, "message": "mine now"}, headers=other
        ),
        client.delete(path, headers=other),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "conversation_not_found"
        assert OPENING not in response.text

    owner = as_key(KEY_A)
    assert len(client.get(path, headers=owner).json()["messages"]) == 2
    turn = client.post(
        "/api/chat", json={"conversation_id": conv, "message": "go on"}, headers=owner
    )
    assert turn.status_code == 200
    assert client.delete(path, headers=owner).status_code == 204


def test_idempotency_keys_are_per_api_key(client: httpx.Client) -> None:
    shared = {"Idempotency-Key": f"same-{uuid.uuid4()}"}
    a = client.post("/api/chat", json={"message": OPENING}, headers={**as_key(KEY_A), **shared})
    b = client.post("/api/chat", json={"message": OPENING}, headers={**as_key(KEY_B), **shared})
    assert a.status_code == b.status_code == 200
    assert a.json()["conversation_id"] != b.json()["conversation_id"]
    assert "idempotent-replayed" not in b.headers


def test_cors_allows_the_configured_origin_only(client: httpx.Client) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key, idempotency-key",
    }
    allowed = client.options("/api/chat", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/api/chat", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/health", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_no_key_appears_in_the_log(server: Server, client: httpx.Client) -> None:
    client.post("/api/chat", json={"message": OPENING}, headers=as_key(KEY_A))
    client.post("/api/chat", json={"message": OPENING}, headers=as_key("wrong-key-0123456789"))
    log = server.log()
    assert '"status": 401' in log  # the requests were logged...
    for secret in (
        KEY_A,
        KEY_B,
        "wrong-key-0123456789",
        hashlib.sha256(KEY_A.encode()).hexdigest(),
    ):
        assert secret not in log  # ...without the keys, or the hashes that identify them


def test_cors_is_closed_by_default(tmp_path: Path) -> None:
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{tmp_path / 'closed.db'}"}
    with running_server(env, tmp_path) as srv:
        response = httpx.options(
            f"{srv.base_url}/api/chat",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in response.headers
        plain = httpx.get(f"{srv.base_url}/health", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in plain.headers


def test_the_rate_limit_is_per_key_and_answers_429_with_retry_after(tmp_path: Path) -> None:
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'limited.db'}",
        "KOPICHAT_API_KEYS": keys_setting(),
        "KOPICHAT_RATE_LIMIT": "3/minute",
    }
    with (
        running_server(env, tmp_path) as srv,
        httpx.Client(base_url=srv.base_url, timeout=30) as client,
    ):
        unknown = f"/api/conversations/{uuid.uuid4()}"
        statuses = [client.get(unknown, headers=as_key(KEY_A)).status_code for _ in range(3)]
        assert statuses == [404, 404, 404]
        limited = client.get(unknown, headers=as_key(KEY_A))
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Another key has its own allowance; the open endpoints are not counted.
        assert client.get(unknown, headers=as_key(KEY_B)).status_code == 404
        assert all(client.get("/health").status_code == 200 for _ in range(5))


def test_without_keys_the_limit_is_per_client_address(tmp_path: Path) -> None:
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'by-address.db'}",
        "KOPICHAT_RATE_LIMIT": "2/minute",
    }
    with (
        running_server(env, tmp_path) as srv,
        httpx.Client(base_url=srv.base_url, timeout=30) as client,
    ):
        unknown = f"/api/conversations/{uuid.uuid4()}"
        assert [client.get(unknown).status_code for _ in range(3)] == [404, 404, 429]
