"""The debate page when the connection drops mid-turn, cut for real: Chromium talks to a real
uvicorn through a TCP proxy (tests/tcp_proxy.py) that closes the connection while the answer
streams, and the server's model is the OpenAI-compatible mock, slowed down so that the turn is
still running when the page loses it.

The server does not cancel a turn whose client went away; it stores it a moment later. In a
debate that exists, the page resumes the cut stream after the last event it received (GET
/api/conversations/{id}/stream with Last-Event-ID), so the reply goes on where it stopped. A
first turn cannot be resumed (the conversation exists once it is stored): the page sends the
message again with the same Idempotency-Key until the server gives the stored answer. Either
way the turn is shown once and stored once, and the page never says that nothing was stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageSession, new_session
from tests.conftest import Server, running_server
from tests.openai_mock import OPENING_JSON, MockOpenAI, mock_openai
from tests.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.browser

OPENING = "Topic: pineapple on pizza. You argue that it belongs on pizza."
SECOND = "Fruit on pizza is a crime against Italy."
STORED_ID = "() => localStorage.getItem('kopichat.conversation_id')"


@dataclass
class Rig:
    server: Server  # base_url: the proxy in front of the real server
    direct_url: str
    proxy: TcpProxy
    mock: MockOpenAI
    database: Path

    def stored(self) -> tuple[int, list[tuple[str, str]]]:
        """Conversations in the database, and every message of them, read straight from it."""
        with sqlite3.connect(self.database) as db:
            conversations = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
            rows = db.execute("SELECT role, content FROM messages ORDER BY conversation_id, seq")
            return conversations, [(str(r), str(c)) for r, c in rows.fetchall()]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    work = tmp_path_factory.mktemp("page-resends")
    database = work / "page.db"
    with mock_openai() as mock:
        env = {
            "KOPICHAT_MODEL": "openai:gpt-test-mini",
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "OPENAI_BASE_URL": mock.base_url,
            "KOPICHAT_GUARD_JUDGE_MODEL": "off",
            "DATABASE_URL": f"sqlite:///{database}",
        }
        with running_server(env, work) as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            with tcp_proxy("127.0.0.1", port) as proxy:
                proxied = replace(server, base_url=f"http://127.0.0.1:{proxy.port}")
                yield Rig(proxied, server.base_url, proxy, mock, database)


@pytest.fixture
def fresh(rig: Rig) -> Iterator[Rig]:
    rig.mock.reset()
    rig.proxy.drop_after_received(None)
    rig.proxy.dropped = 0
    with sqlite3.connect(rig.database) as db:
        db.execute("DELETE FROM idempotency_keys")
        db.execute("DELETE FROM stream_events")
        db.execute("DELETE FROM messages")
        db.execute("DELETE FROM conversations")
    yield rig
    rig.mock.reset()
    rig.proxy.drop_after_received(None)


@pytest.fixture
def page_session(browser: Browser, fresh: Rig) -> Iterator[PageSession]:
    session = new_session(browser, fresh.server, viewport={"width": 1000, "height": 900})
    try:
        yield session
    finally:
        session.page.context.close()
    assert session.errors == [], "the page raised uncaught errors"
    assert session.elsewhere == [], "the page tried to reach another host"


# Records each text the newest bot reply shows, as it changes.
WATCH_REPLY = """() => {
    window.replySeen = [];
    new MutationObserver(() => {
        const last = document.querySelector('#transcript .msg.bot:last-child .text');
        if (last && last.textContent) window.replySeen.push(last.textContent);
    }).observe(document.getElementById('transcript'),
               {subtree: true, childList: true, characterData: true});
}"""


def keys_sent(page: Page, sent: list[str]) -> None:
    page.on(
        "request",
        lambda r: sent.append(r.headers.get("idempotency-key", "")) if r.method == "POST" else None,
    )


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Your argument")
    box.fill(text)
    box.press("Enter")


def wait_idle(page: Page) -> None:
    expect(page.locator("#send")).to_have_attribute("aria-disabled", "false")


def shown(page: Page) -> list[tuple[str, str]]:
    items: list[dict[str, str]] = page.locator("#transcript .msg").evaluate_all(
        """items => items.map(item => ({
            role: item.classList.contains('user') ? 'user' : 'bot',
            text: item.querySelector('.text').textContent,
        }))"""
    )
    return [(item["role"], item["text"]) for item in items]


def test_a_first_turn_cut_before_its_answer_is_fetched_again_not_stored_twice(
    page_session: PageSession, fresh: Rig
) -> None:
    page = page_session.page
    keys: list[str] = []
    keys_sent(page, keys)
    page_session.open()
    fresh.mock.mode, fresh.mock.delay_s = "slow", 2.0  # the turn runs on after the cut
    fresh.proxy.drop_after_received(1)  # one byte of the answer arrives, then the cut
    send(page, OPENING)
    wait_idle(page)
    assert fresh.proxy.dropped == 1
    expect(page.get_by_role("alert")).to_be_hidden()
    conversations, messages = fresh.stored()
    assert conversations == 1  # no orphan conversation from a second first turn
    assert messages == [("user", OPENING), ("bot", OPENING_JSON["reply"])]
    assert shown(page) == messages
    view = httpx.get(f"{fresh.direct_url}/api/conversations/{page.evaluate(STORED_ID)}").json()
    assert [(m["role"], m["message"]) for m in view["messages"]] == messages
    assert len(keys) >= 2  # sent again after the cut...
    assert len(set(keys)) == 1  # ...with the same key
    assert keys[0]
    expect(page.get_by_label("Your argument")).to_have_value("")


def test_a_stream_cut_mid_reply_resumes_and_shows_the_reply_once(
    page_session: PageSession, fresh: Rig
) -> None:
    page = page_session.page
    keys: list[str] = []
    keys_sent(page, keys)
    resumes: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            resumes.append(r.headers.get("last-event-id"))
            if r.method == "GET" and r.url.endswith("/stream")
            else None
        ),
    )
    page_session.open()
    send(page, OPENING)
    wait_idle(page)
    fresh.mock.chunk_delay_s = 0.25  # about three seconds of streamed words
    page.evaluate(WATCH_REPLY)
    send(page, SECOND)
    # Part of the reply is on the page: now the connection drops at the next bytes.
    expect(page.locator("#transcript .msg.bot.pending .text")).to_contain_text("Rebuttal")
    fresh.proxy.drop_after_received(1)
    wait_idle(page)
    assert fresh.proxy.dropped == 1
    expect(page.get_by_role("alert")).to_be_hidden()
    conversations, messages = fresh.stored()
    assert conversations == 1
    assert [m for m in messages if m[0] == "user"] == [("user", OPENING), ("user", SECOND)]
    assert len(messages) == 4
    assert shown(page) == messages  # the reply once: not twice, not cut short
    assert messages[-1][1].startswith("Rebuttal")
    # Every text the reply showed on its way was the start of the stored reply: no word of it
    # twice, and no note about a dropped connection in place of the words received.
    seen: list[str] = page.evaluate("() => window.replySeen")
    reply = messages[-1][1]
    assert seen
    assert seen[-1] == reply
    assert all(reply.startswith(text) for text in seen), seen
    assert [len(t) for t in seen] == sorted(len(t) for t in seen)
    first_key, *second_keys = keys
    assert len(second_keys) == 1  # the second message was not sent again...
    assert first_key not in second_keys
    assert len(resumes) == 1  # ...its stream was resumed after the last event received
    assert resumes[0] is not None
    assert "-" in resumes[0]


def test_a_message_whose_answer_never_comes_back_is_not_called_lost(
    page_session: PageSession, fresh: Rig
) -> None:
    """Every resend cut too: the page cannot know whether the turn was stored, and says so;
    sending the message again reuses its key, so the stored turn comes back, not a copy."""
    page = page_session.page
    keys: list[str] = []
    keys_sent(page, keys)
    page_session.open()
    page.evaluate("() => window.Kopichat.RESEND_DELAYS_MS.splice(0, Infinity, 50, 50)")
    page.route("**/api/chat/stream", lambda route: route.abort("connectionreset"))
    send(page, OPENING)
    wait_idle(page)
    expect(page.get_by_role("alert")).to_contain_text("may or may not have been saved")
    assert fresh.stored() == (0, [])
    assert len(keys) == 3  # the first try and two resends, one key
    assert len(set(keys)) == 1
    page.unroute("**/api/chat/stream")
    page.get_by_label("Your argument").press("Enter")  # the same message, sent again
    wait_idle(page)
    expect(page.get_by_role("alert")).to_be_hidden()
    assert keys[-1] == keys[0]
    assert fresh.stored() == (1, [("user", OPENING), ("bot", OPENING_JSON["reply"])])
