"""Headless Chromium (Debian's `chromium`, driven by Playwright) against a real uvicorn.

The browser is the system's: `make install` installs Debian's package when it can, and
`playwright install` (which downloads a browser build) is never used. No Chromium: the browser
tests skip on a developer machine and fail when CI is set, like the MySQL tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT, Server, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Request, Route

CHROMIUM = Path(os.environ.get("KOPICHAT_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium keeps calling Google's services, which on
# a closed network means a stream of failing connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots land here (git-ignored); CI can keep the folder as its artifacts.
ARTIFACTS = Path(os.environ.get("KOPICHAT_TEST_ARTIFACTS", ROOT / "test-artifacts"))
# Hang guard for a single wait in the browser, not a speed target.
WAIT_MS = 30_000

pytestmark = pytest.mark.browser


def _unavailable(reason: str) -> None:
    message = (
        f"{reason}. The browser tests need Debian's Chromium: `make install` installs it as root "
        "with apt-get; otherwise run `sudo apt-get install chromium`, or point KOPICHAT_CHROMIUM "
        "at a Chromium or Chrome binary."
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# Module scope, not session: while Playwright's sync API is running it marks its asyncio loop as
# the running loop of the main thread, and every later test that runs a coroutine would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable(
            "the playwright package is missing (pip install -c requirements.lock -e '.[dev]')"
        )
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m api` on the fake model and a fresh SQLite file: what `make run` serves."""
    work = tmp_path_factory.mktemp("page-server")
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{work / 'page.db'}"}
    with running_server(env, work) as srv:
        yield srv


@dataclass
class PageSession:
    """A page in a fresh browser context (its own localStorage), and what it did."""

    page: Page
    base_url: str
    requests: list[str] = field(default_factory=list)  # "METHOD /path" of every request
    elsewhere: list[str] = field(default_factory=list)  # requests to any other origin
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page

    def open(self) -> None:
        self.page.goto(self.base_url + "/")
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        self.page.wait_for_selector("html[data-ready='true']", timeout=WAIT_MS)

    def paths(self, method: str = "POST") -> list[str]:
        return [r.split(" ", 1)[1] for r in self.requests if r.startswith(method + " ")]


def new_session(browser: Browser, server: Server, **context_options: object) -> PageSession:
    context = browser.new_context(**context_options)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    session = PageSession(page, server.base_url)

    def only_this_server(route: Route, request: Request) -> None:
        if request.url.startswith(server.base_url + "/"):
            route.continue_()
            return
        session.elsewhere.append(request.url)
        route.abort()

    context.route("**/*", only_this_server)
    page.on("request", lambda r: session.requests.append(f"{r.method} {_path(r.url, server)}"))
    page.on("pageerror", lambda e: session.errors.append(str(e)))
    return session


def _path(url: str, server: Server) -> str:
    return url.removeprefix(server.base_url)


@pytest.fixture
def session(browser: Browser, server: Server) -> Iterator[PageSession]:
    session = new_session(browser, server, viewport={"width": 1000, "height": 900})
    try:
        yield session
    finally:
        session.page.context.close()
    assert session.errors == [], "the page raised uncaught errors"
    assert session.elsewhere == [], "the page tried to reach another host"
