"""Fault injection on a live server: MariaDB and the model behind TCP proxies the test controls.

Kopichat runs under uvicorn with the OpenAI provider (the loopback mock) and MariaDB, both
reached through tests/tcp_proxy.py. Each case breaks one thing at one step of a turn, then
checks the status and code, that nothing of the turn was stored (read straight from MariaDB,
not through the proxy), and that the next request works once the fault is gone, with no
restart. docs/reliability.md holds the same matrix.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import make_url

from agent.adapters.sql.tables import conversations, messages
from tests.conftest import Server, running_server
from tests.openai_mock import MockOpenAI, mock_openai
from tests.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

TIMEOUT_S = 4.0
DB_TIMEOUT_S = 1.0
PROBLEM = "application/problem+json"


@dataclass
class Rig:
    server: Server
    client: httpx.Client
    db: TcpProxy
    model: TcpProxy
    mock: MockOpenAI
    direct_url: str

    def counts(self) -> tuple[int, int]:
        engine = create_engine(self.direct_url)
        try:
            with engine.connect() as conn:
                return (
                    conn.execute(select(func.count()).select_from(conversations)).scalar_one(),
                    conn.execute(select(func.count()).select_from(messages)).scalar_one(),
                )
        finally:
            engine.dispose()

    def post(self, conversation_id: str | None, text: str) -> httpx.Response:
        return self.client.post(
            "/api/chat", json={"conversation_id": conversation_id, "message": text}
        )

    def new_conversation(self) -> str:
        response = self.post(None, "Cats are better than dogs")
        assert response.status_code == 200, response.text
        conv: str = response.json()["conversation_id"]
        return conv


@pytest.fixture(scope="module")
def rig(migrated_mysql_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    direct = make_url(migrated_mysql_url)
    with (
        mock_openai() as mock,
        tcp_proxy(direct.host or "127.0.0.1", direct.port or 3306) as db,
    ):
        mock_port = int(mock.base_url.split(":")[2].split("/")[0])
        with tcp_proxy("127.0.0.1", mock_port) as model:
            via_proxy = direct.set(host="127.0.0.1", port=db.port)
            env = {
                "KOPICHAT_MODEL": "openai:gpt-test-mini",
                "OPENAI_API_KEY": "sk-fault-test-not-real",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{model.port}/v1",
                "DATABASE_URL": via_proxy.render_as_string(hide_password=False),
                "KOPICHAT_TIMEOUT_S": str(TIMEOUT_S),
                "KOPICHAT_DB_TIMEOUT_S": str(DB_TIMEOUT_S),
            }
            tmp = tmp_path_factory.mktemp("faults")
            with (
                running_server(env, tmp) as server,
                httpx.Client(base_url=server.base_url, timeout=30) as client,
            ):
                yield Rig(server, client, db, model, mock, migrated_mysql_url)


@pytest.fixture
def healthy(rig: Rig) -> Iterator[Rig]:
    rig.db.restore()
    rig.model.restore()
    rig.mock.mode, rig.mock.delay_s, rig.mock.on_request = "ok", 0.0, None
    yield rig
    rig.db.restore()
    rig.model.restore()
    rig.mock.mode, rig.mock.on_request = "ok", None


def expect_problem(
    response: httpx.Response, status: int, code: str, *, retry_after: bool = True
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert ("retry-after" in response.headers) is retry_after, response.headers


def check_case(
    rig: Rig,
    *,
    inject: Callable[[Rig], None],
    status: int,
    code: str,
    first_turn: bool = False,
) -> None:
    conv = rig.new_conversation()
    before = rig.counts()
    inject(rig)
    started = time.monotonic()
    response = rig.post(None if first_turn else conv, "the faulty turn")
    elapsed = time.monotonic() - started
    expect_problem(response, status, code)
    # Inside the one deadline (plus the connect of a fresh connection, and slack for 2 cores).
    assert elapsed < TIMEOUT_S + DB_TIMEOUT_S + 2.0, elapsed
    rig.db.restore()
    rig.model.restore()
    rig.mock.mode, rig.mock.on_request = "ok", None
    assert rig.counts() == before, "a failed turn stored something"
    # The next request works at once, without a restart (the same conversation included).
    after = rig.post(conv, "the turn after")
    assert after.status_code == 200, after.text
    assert after.json()["message"][-2] == {"role": "user", "message": "the turn after"}
    assert rig.counts() == (before[0], before[1] + 2)


# --- the database ------------------------------------------------------------------------


def test_database_down_before_the_read(healthy: Rig) -> None:
    check_case(healthy, inject=lambda r: r.db.cut(), status=503, code="database_unavailable")


def test_database_hangs_before_the_read(healthy: Rig) -> None:
    check_case(healthy, inject=lambda r: r.db.stall(), status=503, code="database_unavailable")


def test_database_down_during_the_model_call(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.mock.on_request = rig.db.cut  # the model is thinking when the database goes

    check_case(healthy, inject=inject, status=503, code="database_unavailable")


def test_database_down_at_commit(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.db.when_sent(b"INSERT INTO messages", "cut")

    check_case(healthy, inject=inject, status=503, code="database_unavailable")
    assert healthy.db.fired == [b"INSERT INTO messages"]
    healthy.db.fired.clear()


def test_database_hangs_at_commit(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.db.when_sent(b"INSERT INTO messages", "stall")

    check_case(healthy, inject=inject, status=503, code="database_unavailable")


def test_database_down_at_the_commit_of_a_first_turn(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.db.when_sent(b"INSERT INTO messages", "cut")

    check_case(healthy, inject=inject, status=503, code="database_unavailable", first_turn=True)


# --- the model ---------------------------------------------------------------------------


def test_model_times_out(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.mock.mode = "hang"

    check_case(healthy, inject=inject, status=504, code="deadline_exceeded")


def test_model_returns_5xx(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.mock.mode = "error"

    before = len(healthy.mock.chat_requests())
    check_case(healthy, inject=inject, status=503, code="model_unavailable")
    # Three attempts of the failing turn, then the opening and the turn after: five in all.
    assert len(healthy.mock.chat_requests()) - before == 5


def test_model_refuses_the_connection(healthy: Rig) -> None:
    check_case(healthy, inject=lambda r: r.model.cut(), status=503, code="model_unavailable")


def test_model_returns_garbage(healthy: Rig) -> None:
    def inject(rig: Rig) -> None:
        rig.mock.mode = "garbage"

    check_case(healthy, inject=inject, status=503, code="model_unavailable")


def test_a_hung_first_attempt_leaves_time_for_a_retry(healthy: Rig) -> None:
    """No token by half the time left: the attempt is taken for hung, and the retry answers."""
    conv = healthy.new_conversation()
    calls = {"n": 0}

    def first_hangs() -> None:
        calls["n"] += 1
        healthy.mock.mode = "hang" if calls["n"] == 1 else "ok"

    healthy.mock.on_request = first_hangs
    response = healthy.post(conv, "are you there?")
    assert response.status_code == 200, response.text
    assert calls["n"] == 2


# --- configuration -----------------------------------------------------------------------


def test_a_removed_prompt_version_is_500_config_error_not_retry(healthy: Rig) -> None:
    conv = str(uuid.uuid4())
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(healthy.direct_url)
    with engine.begin() as conn:
        conn.execute(
            insert(conversations).values(
                id=conv, prompt_version="v0", created_at=now, updated_at=now
            )
        )
        conn.execute(
            insert(messages),
            [
                {
                    "conversation_id": conv,
                    "seq": seq,
                    "role": role,
                    "content": text,
                    "created_at": now,
                }
                for seq, role, text in ((1, "user", "hi"), (2, "bot", "topic?"))
            ],
        )
    engine.dispose()
    before = healthy.counts()
    response = healthy.post(conv, "tea")
    expect_problem(response, 500, "config_error", retry_after=False)
    assert "retry" not in response.json()["detail"].lower()
    assert healthy.counts() == before
    # The conversation is not left locked: the same answer again, not a 409.
    expect_problem(healthy.post(conv, "tea"), 500, "config_error", retry_after=False)


def test_no_secret_reaches_the_log(healthy: Rig) -> None:
    assert "sk-fault-test-not-real" not in healthy.server.log()
