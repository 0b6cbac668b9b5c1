"""GET / over a real uvicorn: the debate page, its settings, and the policy that keeps it on this
server. What the page does in a browser is in tests/browser."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work: Path = tmp_path_factory.mktemp("page-http")
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{work / 'page.db'}",
        "KOPICHAT_MAX_MESSAGE_CHARS": "321",
    }
    with running_server(env, work) as srv:
        yield srv


def inline(html: str, tag: str) -> str:
    found = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    assert len(found) == 1, f"expected one inline <{tag}>"
    return str(found[0])


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_is_one_html_document_with_the_servers_settings(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<meta name="kopichat-max-message-chars" content="321">' in html
    # Under uvicorn the page may use the stream; only the Lambda handler turns it off.
    assert '<meta name="kopichat-stream" content="on">' in html
    assert "{{" not in html  # every placeholder filled
    # Nothing to load from anywhere: no external script, style sheet, font or image.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(?!data:)", html)
    assert "readServerSentEvents" in inline(html, "script")
    assert ".transcript" in inline(html, "style")


def test_the_policy_allows_exactly_the_inlined_code_and_this_server(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/", timeout=10)
    directives = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == csp_hash(inline(response.text, "script"))
    assert directives["style-src"] == csp_hash(inline(response.text, "style"))
    assert directives["connect-src"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_head_answers_like_get_without_a_body(server: Server) -> None:
    response = httpx.head(f"{server.base_url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == b""


def test_the_page_is_left_out_of_the_openapi_schema_on_purpose(server: Server) -> None:
    # The schema describes the JSON API; the page is one of its clients, not part of it.
    paths = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()["paths"]
    assert "/" not in paths
    assert {"/api/chat", "/api/conversations/{conversation_id}"} <= set(paths)
