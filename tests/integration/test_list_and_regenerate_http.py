"""GET /api/conversations and POST /api/conversations/{id}/regenerate over a real uvicorn
process with the fake model and API keys on, on SQLite and on MariaDB/MySQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, update

from agent.adapters.sql.tables import conversations, messages
from tests.conftest import Server, row_counts, running_server

PROBLEM = "application/problem+json"
# Keys of their own per run: on MariaDB the database is shared with other test modules.
KEY_A = f"list-a-{uuid.uuid4().hex}"
KEY_B = f"list-b-{uuid.uuid4().hex}"
SUMMARY_KEYS = {"conversation_id", "topic", "thesis", "created_at", "updated_at", "turns"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('list-sqlite') / 'kopichat.db'}"
    url: str = request.getfixturevalue("migrated_mysql_url")
    return url


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": db_url,
        "KOPICHAT_API_KEYS": f"{KEY_A},{KEY_B}",
    }
    with running_server(env, tmp_path_factory.mktemp("list-http")) as srv:
        yield srv


@pytest.fixture(scope="module")
def a(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"X-API-Key": KEY_A}) as c:
        yield c


@pytest.fixture(scope="module")
def b(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"X-API-Key": KEY_B}) as c:
        yield c


def chat(client: httpx.Client, conversation_id: str | None, message: str) -> dict[str, Any]:
    response = client.post(
        "/api/chat", json={"conversation_id": conversation_id, "message": message}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def every_page(client: httpx.Client, **params: str | int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params) if cursor is None else {**params, "cursor": cursor}
        response = client.get("/api/conversations", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"conversations", "next_cursor"}
        found += page["conversations"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def set_reply(db_url: str, conversation_id: str, seq: int, content: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq == seq)
            .values(content=content)
        )
    engine.dispose()


# --- the list ----------------------------------------------------------------------------


def test_the_list_holds_the_callers_debates_newest_activity_first(
    a: httpx.Client, b: httpx.Client
) -> None:
    tea = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    cats = chat(a, None, "Cats are better than dogs")["conversation_id"]
    hello = chat(a, None, "hi")["conversation_id"]
    theirs = chat(b, None, "Topic: tea. You argue that coffee beats tea.")["conversation_id"]
    chat(a, tea, "Coffee has more caffeine.")  # tea is now the most recently active

    listed = every_page(a, limit=2)
    assert [c["conversation_id"] for c in listed] == [tea, hello, cats]
    assert all(set(c) == SUMMARY_KEYS for c in listed)
    first = listed[0]
    assert (first["topic"], first["thesis"], first["turns"]) == ("tea", "Tea beats coffee.", 2)
    assert listed[1]["topic"] is None
    assert listed[1]["turns"] == 1
    assert listed[2]["thesis"] == "Dogs are better than cats."
    assert datetime.fromisoformat(first["updated_at"]) > datetime.fromisoformat(first["created_at"])
    assert [c["conversation_id"] for c in every_page(b)] == [theirs]

    page = a.get("/api/conversations", params={"limit": 2}).json()
    assert len(page["conversations"]) == 2
    assert page["next_cursor"] is not None
    last = a.get("/api/conversations", params={"limit": 3}).json()
    assert last["next_cursor"] is None


def test_the_query_filters_topic_and_thesis_without_case(a: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:12]
    wanted = chat(a, None, f"Topic: Pizza_{marker}. You argue that pineapple belongs on it.")
    chat(a, None, f"Topic: Pizza-{marker}. You argue that it is fine.")
    found = every_page(a, q=f"PIZZA_{marker.upper()}")
    assert [c["conversation_id"] for c in found] == [wanted["conversation_id"]]
    assert every_page(a, q=f"{marker}%") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNnx4"}, "cursor"),  # base64 of "2026|x"
        ({"cursor": f"1.{str(uuid.uuid4()).upper()}"}, "cursor"),
        ({"cursor": f"{10**17}.{uuid.uuid4()}"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
    ids=repr,
)
def test_bad_list_parameters_are_422_naming_them(
    a: httpx.Client, params: dict[str, str | int], field: str
) -> None:
    body = problem_of(a.get("/api/conversations", params=params), 422, "validation_error")
    assert ["query", field] in [e["loc"] for e in body["errors"]]
    if field == "cursor":
        assert "next_cursor" in body["detail"]


def test_a_cursor_of_the_right_form_is_a_position_even_between_conversations(
    a: httpx.Client,
) -> None:
    # Before the first conversation of 1970: nothing is older.
    past = a.get("/api/conversations", params={"cursor": f"0.{uuid.uuid4()}"})
    assert past.status_code == 200, past.text
    assert past.json() == {"conversations": [], "next_cursor": None}
    future = a.get("/api/conversations", params={"cursor": f"{10**16}.{uuid.uuid4()}"})
    assert future.status_code == 200, future.text
    assert future.json()["conversations"] != []  # everything is older than the year 2286


def test_the_list_needs_a_key(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/api/conversations", timeout=30)
    problem_of(response, 401, "unauthorized")


# --- regenerate --------------------------------------------------------------------------


def test_regenerate_replaces_the_last_reply_and_answers_like_chat(
    a: httpx.Client, db_url: str
) -> None:
    conv = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    turn = chat(a, conv, "Coffee has more caffeine.")
    set_reply(db_url, conv, 4, "the old reply")  # so the new one can be told from it
    before = row_counts(db_url)
    response = a.post(f"/api/conversations/{conv.upper()}/regenerate")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in response.headers
    body = response.json()
    assert set(body) == {"conversation_id", "message"}
    assert body == turn  # the fake model is deterministic: the same question, the same reply
    view = a.get(f"/api/conversations/{conv}").json()
    assert [m["message"] for m in view["messages"]][:3] == [
        "Topic: tea. You argue that tea beats coffee.",
        turn["message"][1]["message"],
        "Coffee has more caffeine.",
    ]
    assert view["messages"][3] == turn["message"][-1]
    assert "the old reply" not in str(view)
    assert row_counts(db_url) == before


def test_regenerate_of_another_keys_or_an_unknown_conversation_is_404(
    a: httpx.Client, b: httpx.Client, db_url: str
) -> None:
    conv = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    set_reply(db_url, conv, 2, "kept")
    problem_of(b.post(f"/api/conversations/{conv}/regenerate"), 404, "conversation_not_found")
    unknown = str(uuid.uuid4())
    problem_of(a.post(f"/api/conversations/{unknown}/regenerate"), 404, "conversation_not_found")
    assert a.get(f"/api/conversations/{conv}").json()["messages"][-1]["message"] == "kept"


def test_regenerate_while_a_turn_runs_is_409_with_retry_after(a: httpx.Client, db_url: str) -> None:
    conv = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    engine = create_engine(db_url)
    held = conversations.c.id == conv
    until = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=5)
    try:
        with engine.begin() as conn:  # the lease a running turn holds
            conn.execute(
                update(conversations)
                .where(held)
                .values(turn_lease="r" * 32, turn_lease_until=until)
            )
        response = a.post(f"/api/conversations/{conv}/regenerate")
        problem_of(response, 409, "turn_in_progress")
        assert response.headers["retry-after"] == "2"
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(conversations).where(held).values(turn_lease=None, turn_lease_until=None)
            )
        engine.dispose()
    assert a.post(f"/api/conversations/{conv}/regenerate").status_code == 200


def test_a_retried_regenerate_with_its_key_gets_the_first_answer(
    a: httpx.Client, db_url: str
) -> None:
    conv = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    key = {"Idempotency-Key": f"again-{uuid.uuid4()}"}
    first = a.post(f"/api/conversations/{conv}/regenerate", headers=key)
    assert first.status_code == 200, first.text
    set_reply(db_url, conv, 2, "changed since")  # a second run would overwrite this
    retry = a.post(f"/api/conversations/{conv}/regenerate", headers=key)
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert a.get(f"/api/conversations/{conv}").json()["messages"][-1]["message"] == "changed since"
    mismatch = problem_of(
        a.post("/api/chat", json={"conversation_id": conv, "message": "x"}, headers=key),
        422,
        "idempotency_key_mismatch",
    )
    assert "another kind of request" in mismatch["detail"]


def test_regenerate_validates_its_id_and_key(a: httpx.Client) -> None:
    problem_of(a.post("/api/conversations/not-a-uuid/regenerate"), 422, "validation_error")
    conv = str(uuid.uuid4())
    problem_of(
        a.post(f"/api/conversations/{conv}/regenerate", headers={"Idempotency-Key": "a b"}),
        422,
        "validation_error",
    )
    problem_of(a.get(f"/api/conversations/{conv}/regenerate"), 405, "method_not_allowed")


def test_a_conversation_without_a_bot_reply_has_nothing_to_regenerate(
    a: httpx.Client, db_url: str
) -> None:
    conv = chat(a, None, "Topic: tea. You argue that tea beats coffee.")["conversation_id"]
    engine = create_engine(db_url)
    with engine.begin() as conn:  # a user message with no reply yet
        conn.execute(
            insert(messages).values(
                conversation_id=conv,
                seq=3,
                role="user",
                content="unanswered",
                created_at=datetime(2026, 1, 1),
            )
        )
    engine.dispose()
    problem_of(a.post(f"/api/conversations/{conv}/regenerate"), 409, "nothing_to_regenerate")


def test_the_schema_names_both_operations(a: httpx.Client) -> None:
    spec = a.get("/openapi.json").json()
    listing = spec["paths"]["/api/conversations"]["get"]
    assert listing["operationId"] == "list_conversations"
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    regen = spec["paths"]["/api/conversations/{conversation_id}/regenerate"]["post"]
    assert regen["operationId"] == "regenerate"
    assert {"200", "401", "404", "409", "422", "429", "503", "504"} <= set(regen["responses"])
    assert "Idempotency-Key" in {p["name"] for p in regen["parameters"]}
    assert regen["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatResponse"
    }
