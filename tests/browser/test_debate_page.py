"""The debate page in headless Chromium against a real uvicorn on the fake model.

A person's view: they type, press Enter, read the page. What the server stored is read back over
HTTP and compared with what the page shows.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from api.problems import problem
from tests.browser.conftest import ARTIFACTS, PageSession, new_session
from tests.conftest import Server, free_port

pytestmark = pytest.mark.browser

OPENING = "Topic: pineapple on pizza. You argue that it belongs on pizza."
THESIS = "Pineapple belongs on pizza."
TURNS = [
    OPENING,
    "Fruit on pizza is a crime against Italy.",
    "Sweet and savoury never mix.\nA pizza is not a fruit salad.",
]
MAX_CHARS = 2000  # the server's default KOPICHAT_MAX_MESSAGE_CHARS
STORED_ID = "() => localStorage.getItem('kopichat.conversation_id')"


# --- helpers: what a person does and sees ------------------------------------------------------


def send(s: PageSession, text: str) -> None:
    box = s.page.get_by_label("Your argument")
    box.fill(text)
    box.press("Enter")
    wait_idle(s.page)


def wait_idle(page: Page) -> None:
    expect(page.locator("#send")).to_have_attribute("aria-disabled", "false")


def shown_messages(page: Page) -> list[tuple[str, str]]:
    items: list[dict[str, str]] = page.locator("#transcript .msg").evaluate_all(
        """items => items.map(item => ({
            role: item.classList.contains('user') ? 'user' : 'bot',
            text: item.querySelector('.text').textContent,
        }))"""
    )
    return [(item["role"], item["text"]) for item in items]


def stored_view(server: Server, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/api/conversations/{conversation_id}", timeout=10)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def as_pairs(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["message"]) for m in view["messages"]]


def server_has_stream(server: Server) -> bool:
    paths = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()["paths"]
    return "/api/chat/stream" in paths


def alert(page: Page) -> Any:
    return page.get_by_role("alert")


# --- a debate -----------------------------------------------------------------------------------


def test_a_three_turn_debate(session: PageSession, server: Server) -> None:
    page = session.page
    session.open()
    expect(page.locator("#topic")).to_have_text("not set yet")
    expect(page.locator("#thesis")).to_have_text("not set yet")

    for text in TURNS:
        send(session, text)
    expect(alert(page)).to_be_hidden()

    conversation_id = page.evaluate(STORED_ID)
    view = stored_view(server, conversation_id)
    # The page shows exactly what the server stored, in order, the user's text byte for byte.
    assert shown_messages(page) == as_pairs(view)
    assert [text for role, text in shown_messages(page) if role == "user"] == TURNS
    assert [role for role, _ in shown_messages(page)] == ["user", "bot"] * 3
    # Topic and side, once fixed, are on the page.
    assert view["thesis"] == THESIS
    expect(page.locator("#topic")).to_have_text(view["topic"])
    expect(page.locator("#thesis")).to_have_text(THESIS)
    # Each turn is one POST. Without the stream endpoint the page asks once, then uses /api/chat.
    if server_has_stream(server):
        assert session.paths() == ["/api/chat/stream"] * 3
    else:
        assert session.paths() == ["/api/chat/stream", "/api/chat", "/api/chat", "/api/chat"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "debate-page.png"
    page.set_viewport_size({"width": 1000, "height": 1010})  # the whole debate in the picture
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_reload_keeps_the_debate(session: PageSession, server: Server) -> None:
    page = session.page
    session.open()
    send(session, OPENING)
    send(session, "Fruit on pizza is a crime against Italy.")
    conversation_id = page.evaluate(STORED_ID)
    before = shown_messages(page)
    assert len(before) == 4

    page.reload()
    session.wait_until_ready()
    assert shown_messages(page) == before
    expect(page.locator("#thesis")).to_have_text(THESIS)
    expect(page.locator("#intro")).to_be_hidden()

    # The debate goes on where it was: same conversation, one more turn.
    send(session, "<b>Still</b> not convinced & <i>never</i> will be.")
    # Markup in a message is shown as text, never rendered.
    assert page.locator("#transcript b, #transcript i").count() == 0
    assert page.evaluate(STORED_ID) == conversation_id
    view = stored_view(server, conversation_id)
    assert len(view["messages"]) == 6
    assert shown_messages(page) == as_pairs(view)


def test_an_over_long_message_is_explained(session: PageSession, server: Server) -> None:
    page = session.page
    session.open()
    send(session, "Cats are better than dogs.")
    conversation_id = page.evaluate(STORED_ID)
    before = shown_messages(page)

    too_long = "x" * (MAX_CHARS + 1)
    box = page.get_by_label("Your argument")
    box.fill(too_long)
    expect(page.locator("#message-count")).to_contain_text("1 over the limit")
    box.press("Enter")
    wait_idle(page)

    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_contain_text(
        f"Your message is too long: the limit is {MAX_CHARS} characters and yours has "
        f"{MAX_CHARS + 1}. Shorten it, then send it again."
    )
    expect(alert(page)).to_contain_text("(422 validation_error)")
    # The draft stays for shortening; nothing was added, on the page or on the server.
    expect(box).to_have_value(too_long)
    assert shown_messages(page) == before
    assert as_pairs(stored_view(server, conversation_id)) == before

    send(session, "x" * MAX_CHARS)
    expect(alert(page)).to_be_hidden()
    assert len(shown_messages(page)) == 4


def test_an_unknown_saved_debate_is_explained(session: PageSession) -> None:
    page = session.page
    session.open()
    page.evaluate(
        "() => localStorage.setItem('kopichat.conversation_id', "
        "'00000000-0000-4000-8000-000000000000')"
    )
    page.reload()
    session.wait_until_ready()
    expect(alert(page)).to_contain_text("This debate is no longer on the server")
    expect(alert(page)).to_contain_text("(404 conversation_not_found)")
    assert page.evaluate(STORED_ID) is None

    page.get_by_role("button", name="Start a new debate").click()
    expect(alert(page)).to_be_hidden()
    send(session, OPENING)
    assert len(shown_messages(page)) == 2


# Statuses a person cannot easily provoke against the fake model, answered here by the server's
# own problem() builder, through the same fetch path as a real answer.
PLAIN_WORDS = [
    (409, "turn_in_progress", "still answering an earlier message", False),
    (409, "turn_cap_reached", "reached its length limit", True),
    (503, "model_unavailable", "not available right now. Nothing of this turn was saved", False),
    (504, "deadline_exceeded", "took too long to answer. Nothing of this turn was saved", False),
]


@pytest.mark.parametrize(("status", "code", "words", "start_over"), PLAIN_WORDS)
def test_errors_are_explained_in_plain_words(
    session: PageSession, status: int, code: str, words: str, start_over: bool
) -> None:
    page = session.page
    answer = problem(status, code, "Detail for developers.")

    def refuse(route: Route) -> None:
        route.fulfill(
            status=status,
            headers={"content-type": answer.media_type or ""},
            body=bytes(answer.body),
        )

    page.route(re.compile(r".*/api/chat(/stream)?$"), refuse)
    session.open()
    send(session, "Cats are better than dogs.")

    expect(alert(page)).to_contain_text(words)
    expect(alert(page)).to_contain_text(f"({status} {code})")
    expect(alert(page)).not_to_contain_text("Detail for developers")
    start = page.get_by_role("button", name="Start a new debate")
    if start_over:
        expect(start).to_be_visible()
    else:
        expect(start).to_be_hidden()
    # Nothing was stored: the message is not in the debate, and it is still in the box to retry.
    assert shown_messages(page) == []
    expect(page.get_by_label("Your argument")).to_have_value("Cats are better than dogs.")


# --- the stream ---------------------------------------------------------------------------------


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def test_the_sse_reader_on_canned_input(session: PageSession) -> None:
    session.open()
    done = {"conversation_id": "c0ffee00-0000-4000-8000-000000000000", "message": []}
    body = (
        ": keep-alive comment\r\n\r\n"
        'event: token\r\ndata: {"text": "Pine"}\r\n\r\n'
        'event: token\ndata: {"text": "apple 🍍 "}\n\n'
        'event: token\rdata: {"text": "wins"}\r\r'
        "data: first line\ndata: second line\n\n"
        'event: token\nid: 7\nretry: 1000\ndata:{"text":"!"}\n\n'
        "event: without-data\n\n"
        f"{sse('done', done)}"
        'event: token\ndata: {"text": "cut off before its blank line"}'
    ).encode()
    # `id`: the last event id seen so far (it carries over to the events after it).
    expected = [
        {"event": "token", "data": '{"text": "Pine"}', "id": ""},
        {"event": "token", "data": '{"text": "apple 🍍 "}', "id": ""},
        {"event": "token", "data": '{"text": "wins"}', "id": ""},
        {"event": "message", "data": "first line\nsecond line", "id": ""},
        {"event": "token", "data": '{"text":"!"}', "id": "7"},
        {"event": "done", "data": json.dumps(done), "id": "7"},
    ]
    read = """async (chunks) => {
        const body = new ReadableStream({
            start(controller) {
                for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
                controller.close();
            },
        });
        const events = [];
        await window.Kopichat.readServerSentEvents(new Response(body), (e) => events.push(e));
        return events;
    }"""
    whole = [list(body)]
    # One byte per chunk: every line end, CRLF and UTF-8 sequence is split somewhere.
    bytewise = [[b] for b in body]
    assert session.page.evaluate(read, whole) == expected
    assert session.page.evaluate(read, bytewise) == expected


def stream_through_chat(server: Server) -> Any:
    """A stand-in for POST /api/chat/stream with its contract (token events, then `done` with
    the /api/chat body), built on the real /api/chat answer for the same request."""

    def handle(route: Route) -> None:
        answer = route.fetch(url=f"{server.base_url}/api/chat")
        if answer.status != 200:
            route.fulfill(response=answer)
            return
        body = answer.json()
        reply = body["message"][-1]["message"]
        tokens = re.findall(r"\S+\s*", reply)
        assert "".join(tokens) == reply
        events = "".join(sse("token", {"text": t}) for t in tokens) + sse("done", body)
        route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=events)

    return handle


def test_the_page_streams_when_the_server_can(session: PageSession, server: Server) -> None:
    page = session.page
    page.route("**/api/chat/stream", stream_through_chat(server))
    session.open()
    for text in TURNS:
        send(session, text)
    assert session.paths() == ["/api/chat/stream"] * 3  # never fell back to /api/chat
    view = stored_view(server, page.evaluate(STORED_ID))
    assert shown_messages(page) == as_pairs(view)
    expect(page.locator("#thesis")).to_have_text(THESIS)


def test_an_error_event_mid_stream_is_explained(session: PageSession) -> None:
    page = session.page
    timeout = problem(504, "deadline_exceeded", "The turn ran past its deadline.")
    events = sse("token", {"text": "Half an"}) + sse("error", json.loads(bytes(timeout.body)))
    page.route(
        "**/api/chat/stream",
        lambda route: route.fulfill(
            status=200, headers={"content-type": "text/event-stream"}, body=events
        ),
    )
    session.open()
    send(session, OPENING)
    expect(alert(page)).to_contain_text("The bot took too long to answer")
    expect(alert(page)).to_contain_text("(504 deadline_exceeded)")
    assert shown_messages(page) == []  # the half reply is gone with the failed turn
    assert page.evaluate(STORED_ID) is None
    expect(page.get_by_label("Your argument")).to_have_value(OPENING)


def test_a_stream_cut_off_is_sent_again_and_answered(session: PageSession, server: Server) -> None:
    """The stream ends before its final event (here before the request reached the server; a
    real cut while the server runs the turn is in test_page_resends.py): the page sends the
    message again by itself and shows the answer, stored once."""
    page = session.page
    through = stream_through_chat(server)
    calls = {"n": 0}

    def first_cut(route: Route) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second message's first try
            cut = sse("token", {"text": "You say"})  # and then the connection ends
            route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=cut)
            return
        through(route)

    page.route("**/api/chat/stream", first_cut)
    session.open()
    send(session, OPENING)
    send(session, "Fruit on pizza is a crime against Italy.")
    expect(alert(page)).to_be_hidden()
    assert calls["n"] == 3
    view = stored_view(server, page.evaluate(STORED_ID))
    assert shown_messages(page) == as_pairs(view)
    assert [m["role"] for m in view["messages"]] == ["user", "bot", "user", "bot"]


# --- for everyone -------------------------------------------------------------------------------


def test_keyboard_alone_at_phone_width(browser: Browser, server: Server) -> None:
    s = new_session(
        browser, server, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = s.page
    try:
        s.open()
        focused = "() => document.activeElement.id || document.activeElement.textContent"
        page.keyboard.press("Tab")
        assert page.evaluate(focused) == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate(focused) == "message"
        for text in TURNS[:2]:
            page.keyboard.type(text)
            page.keyboard.press("Enter")
            wait_idle(page)
        assert len(shown_messages(page)) == 4
        page.keyboard.press("Tab")
        assert page.evaluate(focused) == "send"

        # Nothing wider than the phone: no sideways scrolling.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "debate-page-phone.png"), full_page=True)

        # Back to "New debate" with Shift+Tab, and a fresh debate with Enter.
        for _ in range(20):
            if page.evaluate(focused) == "new-debate":
                break
            page.keyboard.press("Shift+Tab")
        assert page.evaluate(focused) == "new-debate"
        page.keyboard.press("Enter")
        assert shown_messages(page) == []
        assert page.evaluate(STORED_ID) is None
        assert page.evaluate(focused) == "message"
        expect(page.locator("#thesis")).to_have_text("not set yet")
        assert s.errors == []
        assert s.elsewhere == []
    finally:
        page.context.close()


def test_every_control_has_a_name(session: PageSession) -> None:
    page = session.page
    session.open()
    expect(page.get_by_role("textbox", name="Your argument")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="New debate")).to_be_visible()
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, textarea, input, select, a[href]')]
            .filter((el) => !(el.labels && el.labels.length) && !el.textContent.trim()
                            && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML)"""
    )
    assert unnamed == []


CONTRAST = """() => {
    const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const linear = (v) => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c;
        }
        return [255, 255, 255];
    };
    const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    const results = [];
    for (const el of document.body.querySelectorAll('*')) {
        const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!ownText || !el.getClientRects().length) continue;
        if (el.closest('.visually-hidden')) continue;
        const label = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' +
                      el.textContent.trim().slice(0, 60);
        results.push([label, ratio(rgb(getComputedStyle(el).color), background(el)), 4.5]);
    }
    const box = document.getElementById('message');
    box.focus();
    const outline = rgb(getComputedStyle(box).outlineColor);
    results.push(['focus outline', ratio(outline, background(box.parentElement)), 3]);
    return results;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_has_enough_contrast(browser: Browser, server: Server, scheme: str) -> None:
    s = new_session(browser, server, color_scheme=scheme)
    page = s.page
    try:
        s.open()
        send(s, "Cats are better than dogs.")
        page.get_by_label("Your argument").fill("x" * (MAX_CHARS + 1))
        page.get_by_label("Your argument").press("Enter")
        wait_idle(page)
        expect(alert(page)).to_be_visible()
        measured: list[tuple[str, float, float]] = page.evaluate(CONTRAST)
        labels = " | ".join(label for label, _, _ in measured)
        for needed in ("You", "Kopichat", "Topic", "too long", "over the limit", "Send", "focus"):
            assert needed in labels, f"{needed!r} was not measured"
        # WCAG 2 AA: 4.5:1 for text, 3:1 for the focus indicator.
        low = [(label, round(value, 2)) for label, value, needed in measured if value < needed]
        assert low == []
    finally:
        page.context.close()


def test_the_page_cannot_reach_another_host(session: PageSession) -> None:
    session.open()
    elsewhere = f"http://127.0.0.1:{free_port()}/"  # another origin, still on loopback
    blocked = session.page.evaluate(
        """async (url) => {
            const violations = [];
            document.addEventListener('securitypolicyviolation',
                                      (e) => violations.push(e.effectiveDirective));
            let outcome = 'fetched';
            try { await fetch(url); } catch (_) { outcome = 'refused'; }
            for (let i = 0; i < 100 && violations.length === 0; i++) {
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
            return [outcome, violations];
        }""",
        elsewhere,
    )
    assert blocked == ["refused", ["connect-src"]]


def test_where_the_server_cannot_stream_the_page_does_not_try(
    session: PageSession, server: Server
) -> None:
    # What the Lambda handler serves (tests/integration/test_lambda_handler.py checks that).
    def as_on_lambda(route: Route) -> None:
        page = route.fetch()
        html = page.text().replace(
            '<meta name="kopichat-stream" content="on">',
            '<meta name="kopichat-stream" content="off">',
        )
        assert 'content="off"' in html
        route.fulfill(response=page, body=html)

    session.page.route(f"{server.base_url}/", as_on_lambda)
    session.open()
    send(session, OPENING)
    send(session, "Fruit on pizza is a crime against Italy.")
    assert session.paths() == ["/api/chat", "/api/chat"]
    assert len(shown_messages(session.page)) == 4
