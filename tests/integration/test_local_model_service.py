"""The offline model behind the real service (uvicorn, SQLite): it never stalls the service and
never overflows its context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server, row_counts, running_server

pytestmark = pytest.mark.slow

TIMEOUT_S = 12.0  # the turn deadline for these servers: short, so some turns may well hit it
CLAIMS = [
    "Cats are better than dogs.",
    "Remote work is better than office work.",
    "Tea is better than coffee.",
    "Summer is better than winter.",
    "Trains are better than planes.",
    "Books are better than films.",
    "Cities are better than villages.",
    "Mountains are better than beaches.",
]


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('offline-db') / 'kopichat.db'}"


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "KOPICHAT_MODEL": "local",
        "DATABASE_URL": db_url,
        "KOPICHAT_TIMEOUT_S": str(TIMEOUT_S),
        "KOPICHAT_LOCAL_QUEUE": "4",
    }
    with running_server(env, tmp_path_factory.mktemp("offline"), ready_timeout_s=180) as srv:
        yield srv


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The offline model on the defaults `make run` uses (25 s per turn)."""
    folder = tmp_path_factory.mktemp("offline-defaults")
    env = {"KOPICHAT_MODEL": "local", "DATABASE_URL": f"sqlite:///{folder / 'kopichat.db'}"}
    with running_server(env, folder, ready_timeout_s=180) as srv:
        yield srv


def test_eight_concurrent_turns_end_in_time_and_ready_stays_prompt(
    server: Server, db_url: str
) -> None:
    before = row_counts(db_url)

    async def scenario() -> tuple[list[tuple[int, float, httpx.Response]], list[float]]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:

            async def turn(text: str) -> tuple[int, float, httpx.Response]:
                started = time.perf_counter()
                response = await client.post("/api/chat", json={"message": text})
                return response.status_code, time.perf_counter() - started, response

            turns = [asyncio.create_task(turn(text)) for text in CLAIMS]
            ready_s: list[float] = []
            while not all(t.done() for t in turns):
                started = time.perf_counter()
                ready = await client.get("/ready")
                ready_s.append(time.perf_counter() - started)
                assert ready.status_code == 200, ready.text
                await asyncio.sleep(0.2)
            return [t.result() for t in turns], ready_s

    results, ready_s = asyncio.run(scenario())
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 503, 504}, statuses
    assert 200 in statuses
    for status, elapsed, response in results:
        # Hang guard around the deadline: no turn may outlive it (plus HTTP and commit).
        assert elapsed < TIMEOUT_S + 5, (status, elapsed)
        if status == 503:
            assert response.json()["code"] == "model_busy"
            assert int(response.headers["retry-after"]) >= 1
        if status == 504:
            assert response.json()["code"] == "deadline_exceeded"
    # The event loop and the database never wait behind the model.
    assert len(ready_s) >= 3
    assert max(ready_s) < 2.0, ready_s
    # Nothing half-stored: one conversation of two messages per 200, nothing for the others.
    ok = statuses.count(200)
    assert row_counts(db_url) == (before[0] + ok, before[1] + 2 * ok)
    print(
        f"\n8 concurrent offline turns: statuses {sorted(statuses)}; "
        f"/ready max {max(ready_s) * 1000:.0f} ms over {len(ready_s)} probes"
    )


@pytest.mark.parametrize(
    "unit",
    [
        "Offices waste hours of everyone's day in traffic. ",
        "远程工作比办公室工作更好，因为它节省了通勤时间。",
    ],
    ids=["english", "cjk"],
)
def test_four_maximal_messages_in_a_row_are_answered(default_server: Server, unit: str) -> None:
    text = (unit * (2000 // len(unit) + 1))[:2000]
    with httpx.Client(base_url=default_server.base_url, timeout=60) as client:
        conversation_id = None
        for turn in range(4):
            body = {"conversation_id": conversation_id, "message": text}
            response = client.post("/api/chat", json=body)
            assert response.status_code == 200, (turn, response.text)
            conversation_id = response.json()["conversation_id"]
            assert response.json()["message"][-1]["role"] == "bot"
            assert response.json()["message"][-2]["message"] == text


def test_the_log_says_it_is_the_offline_demo_model(server: Server) -> None:
    assert "offline demo model" in server.log()
