"""The debate page at `GET /`: one HTML document, its CSS and JS inlined from `api/static/`.

One response and nothing else to fetch, so it works the same under uvicorn and behind API Gateway
(whose stage prefix would break relative links to other files). The Content-Security-Policy
allows exactly the inlined style and script (by hash) and requests to this server: the page
cannot reach any other host, by design.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@dataclass(frozen=True)
class DebatePage:
    template: str
    headers: dict[str, str]

    def html(self, *, streaming: bool) -> str:
        return self.template.replace("{{stream}}", "on" if streaming else "off")


def load_debate_page(max_message_chars: int) -> DebatePage:
    static = files("api") / "static"
    html = (static / "index.html").read_text(encoding="utf-8")
    css = (static / "page.css").read_text(encoding="utf-8")
    js = (static / "page.js").read_text(encoding="utf-8")
    if "</style" in css.lower() or "</script" in js.lower():
        raise ValueError("api/static: page.css or page.js would end its inline element early")
    html = (
        html.replace("{{max_message_chars}}", str(max_message_chars))
        .replace("{{page.css}}", css)
        .replace("{{page.js}}", js)
    )
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256_source(js)}",
            f"style-src {_sha256_source(css)}",
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return DebatePage(html, headers)


def include_debate_page(app: FastAPI, page: DebatePage) -> None:
    # Left out of the OpenAPI schema on purpose: the schema describes the JSON API, and the page
    # is a client of it, not part of the contract.
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def debate_page(request: Request) -> HTMLResponse:
        # Mangum puts the Lambda event in the scope. It buffers whole responses, so a stream
        # would arrive in one piece: the page goes straight to POST /api/chat there.
        streaming = "aws.event" not in request.scope
        return HTMLResponse(page.html(streaming=streaming), headers=page.headers)
