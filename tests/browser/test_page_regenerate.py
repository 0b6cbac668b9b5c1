"""'Try another answer' on the debate page, in headless Chromium against a real uvicorn whose
model is the OpenAI-compatible mock on loopback: it numbers its answers by the requests it has
had ("Rebuttal #N"), so a reply asked for again is told apart from the one it replaces."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageSession, new_session
from tests.conftest import Server, running_server
from tests.openai_mock import OPENING_JSON, MockOpenAI, mock_openai

pytestmark = pytest.mark.browser

OPENING = "Topic: pineapple on pizza. You argue that it belongs on pizza."
SECOND = "Fruit on pizza is a crime against Italy."
STORED_ID = "() => localStorage.getItem('kopichat.conversation_id')"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOpenAI]:
    with mock_openai() as running:
        yield running


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("page-regenerate") / "page.db"


@pytest.fixture(scope="module")
def server(mock: MockOpenAI, database: Path) -> Iterator[Server]:
    env = {
        "KOPICHAT_MODEL": "openai:gpt-test-mini",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": mock.base_url,
        "KOPICHAT_GUARD_JUDGE_MODEL": "off",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    with running_server(env, database.parent) as srv:
        yield srv


@pytest.fixture
def session(browser: Browser, server: Server) -> Iterator[PageSession]:
    s = new_session(browser, server, viewport={"width": 1000, "height": 900})
    try:
        yield s
    finally:
        s.page.context.close()
    assert s.errors == [], "the page raised uncaught errors"
    assert s.elsewhere == [], "the page tried to reach another host"


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Your argument")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("#send")).to_have_attribute("aria-disabled", "false")


def shown(page: Page) -> list[tuple[str, str]]:
    items: list[dict[str, str]] = page.locator("#transcript .msg").evaluate_all(
        """items => items.map(item => ({
            role: item.classList.contains('user') ? 'user' : 'bot',
            text: item.querySelector('.text').textContent,
        }))"""
    )
    return [(item["role"], item["text"]) for item in items]


def stored(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT role, content FROM messages ORDER BY conversation_id, seq")
        return [(str(role), str(content)) for role, content in rows.fetchall()]


def test_try_another_answer_replaces_the_last_reply(
    session: PageSession, server: Server, mock: MockOpenAI, database: Path
) -> None:
    page = session.page
    session.open()
    button = page.get_by_role("button", name="Try another answer")
    expect(button).to_be_hidden()  # nothing to redo yet
    send(page, OPENING)
    send(page, SECOND)
    old = shown(page)[-1][1]
    assert re.search(r"Rebuttal #\d+", old), old
    asked = len(mock.chat_requests())

    button.click()
    expect(page.locator("#send")).to_have_attribute("aria-disabled", "false")
    new = shown(page)[-1][1]
    expect(page.get_by_role("alert")).to_be_hidden()
    assert len(mock.chat_requests()) == asked + 1  # the model was asked again
    assert new != old
    assert f"Rebuttal #{asked + 1}" in new
    conv = page.evaluate(STORED_ID)
    assert session.paths() == [
        "/api/chat/stream",
        "/api/chat/stream",
        f"/api/conversations/{conv}/regenerate",
    ]
    # One bot reply for that turn, the new one, on the page and in the database.
    expected = [("user", OPENING), ("bot", OPENING_JSON["reply"]), ("user", SECOND), ("bot", new)]
    assert shown(page) == expected
    assert stored(database) == expected
    view = httpx.get(f"{server.base_url}/api/conversations/{conv}", timeout=10).json()
    assert [(m["role"], m["message"]) for m in view["messages"]] == expected
    # After a reload the button is there again for the stored reply.
    page.reload()
    session.wait_until_ready()
    assert shown(page) == expected
    expect(button).to_be_visible()
    page.get_by_role("button", name="New debate").click()
    expect(button).to_be_hidden()
