"""The API docs page in headless Chromium with every other host blocked, as on a machine with
no network: `/docs` (Swagger UI) renders the schema from assets this server serves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, WAIT_MS, PageSession, new_session
from tests.conftest import Server

pytestmark = pytest.mark.browser

OPERATIONS = [
    "/api/chat",
    "/api/chat/stream",
    "/api/conversations",
    "/api/conversations/{conversation_id}",
    "/api/conversations/{conversation_id}/regenerate",
]


@pytest.fixture
def offline(browser: Browser, server: Server) -> Iterator[PageSession]:
    # new_session lets requests to this server through and aborts every other one.
    session = new_session(browser, server, viewport={"width": 1200, "height": 900})
    try:
        yield session
    finally:
        session.page.context.close()


def test_swagger_ui_renders_every_operation_offline(offline: PageSession) -> None:
    page = offline.page
    page.goto(offline.base_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kopichat", timeout=WAIT_MS)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for path in OPERATIONS:
        assert any(shown.replace("\u200b", "") == path for shown in paths), paths
    # Open one operation: its problem+json answers are listed.
    page.locator(".opblock-summary-path", has_text="/api/chat/stream").first.click()
    expect(page.locator(".opblock.is-open .responses-table")).to_contain_text("404")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-offline.png"))
    assert offline.elsewhere == [], "the docs page tried to reach another host"
    assert offline.errors == []
    assert "GET /docs/assets/swagger-ui-bundle.js" in offline.requests
