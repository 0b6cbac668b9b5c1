"""Who may call the API: optional API keys and an optional rate limit, both before the app
reads the body.

API keys (`KOPICHAT_API_KEYS`): the `X-API-Key` header must hold one of them, or the answer is
401. Keys are kept only as SHA-256 hashes and compared in constant time. The hash of the key
is the caller's identity: it owns the conversations it creates (another key gets 404).

Rate limit (`KOPICHAT_RATE_LIMIT`, e.g. `60/minute`): a moving window per API key, or per
client address when keys are off (or the key is wrong), through the `limits` library. Over the
limit: 429 with `Retry-After`. The counts live in this process: on Lambda each container counts
for itself, so API Gateway throttling or usage plans are the shared limit there.

Only `/api/...` is guarded; `/health`, `/ready` and the API docs stay open.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import send_problem

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.strategies import MovingWindowRateLimiter

OWNER_SCOPE_KEY = "kopichat.owner"
_GUARDED_PREFIX = "/api/"


def owner_of(scope: Scope) -> str | None:
    """The caller's identity (the hash of its API key), or None when keys are off."""
    owner = scope.get(OWNER_SCOPE_KEY)
    return owner if isinstance(owner, str) else None


class AccessMiddleware:
    def __init__(self, app: ASGIApp, *, key_hashes: frozenset[str], rate_limit: str | None) -> None:
        self.app = app
        self.key_hashes = sorted(key_hashes)
        self.limits: list[RateLimitItem] = []
        self.limiter: MovingWindowRateLimiter | None = None
        if rate_limit:  # imported only when used: `limits` adds ~50 ms to a cold start
            from limits import parse_many
            from limits.storage import MemoryStorage
            from limits.strategies import MovingWindowRateLimiter

            self.limits = parse_many(rate_limit)
            self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith(_GUARDED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        owner = self._identify(scope)
        who = f"key:{owner}" if owner is not None else f"address:{_client_address(scope)}"
        wait_s = self._over_limit(who)
        if wait_s is not None:
            await send_problem(
                send,
                429,
                "rate_limited",
                "Too many requests; slow down and retry after the time in Retry-After.",
                headers={"Retry-After": str(wait_s)},
            )
            return
        if self.key_hashes and owner is None:
            await send_problem(
                send,
                401,
                "unauthorized",
                "A valid API key is required in the X-API-Key header.",
                headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
            )
            return
        if owner is not None:
            scope[OWNER_SCOPE_KEY] = owner
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> str | None:
        if not self.key_hashes:
            return None
        presented = dict(scope["headers"]).get(b"x-api-key")
        if not presented:
            return None
        digest = hashlib.sha256(presented).hexdigest()
        found = None
        for known in self.key_hashes:  # every entry compared, in constant time each
            if hmac.compare_digest(digest, known):
                found = known
        return found

    def _over_limit(self, who: str) -> int | None:
        """None when the request may go on, else the seconds until it could."""
        if self.limiter is None:
            return None
        for item in self.limits:
            if not self.limiter.hit(item, who):
                reset_at = self.limiter.get_window_stats(item, who).reset_time
                return max(1, math.ceil(reset_at - time.time()))
        return None


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
