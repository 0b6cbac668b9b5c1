"""A model call with retries, all inside the turn's deadline (tenacity does the retrying).

- What is retried is decided by exception type and HTTP status, never by names: a connection
  that failed or dropped (`openai.APIConnectionError`, the transport errors of httpx and of
  its fork httpx2 that the OpenAI SDK uses, OSError's
  `ConnectionError`), and the statuses that mean "try again" (408, 409, 429 and 5xx) of any
  provider SDK's status error (`openai.APIStatusError`; the others carry `status_code` too).
  Anything else (400, 401, 404, a body that is not a completion) fails at once.
- The pause before a retry is the provider's `Retry-After` (or `retry-after-ms`) when it sends
  one, else a short exponential backoff. When that pause would leave the retry less than
  `MIN_ATTEMPT_S` before the deadline, there is no retry: the call fails now, not at the deadline.
- No attempt is cut while it is healthy: each may run until the deadline. Only where progress is
  visible (a streamed reply reports its first token through `Progress`) is an attempt that has
  not started to answer by half the time left taken for hung, cut, and tried again; once its
  first token is in, it runs to the deadline.

Retrying a model call is always safe: nothing of a turn is stored before the model's answer is
complete, and a streamed attempt that was abandoned is announced to the client (`RESTART`).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from agent.errors import DeadlineExceeded, KopichatError, ModelUnavailable

try:  # the OpenAI SDK comes with langchain-openai; other providers may run without it
    import openai
except ImportError:  # pragma: no cover - openai is a dependency of the default install
    openai = None  # type: ignore[assignment]

log = logging.getLogger("kopichat.model")
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
BACKOFF_S = 0.2  # the first pause without Retry-After; it doubles
MIN_ATTEMPT_S = 1.0  # a retry with less time than this before the deadline is not worth it


class Progress:
    """Told by a streamed attempt when its first token arrives (on the event loop)."""

    def __init__(self) -> None:
        self._listener: Callable[[], None] | None = None
        self.started = False

    def token(self) -> None:
        if not self.started:
            self.started = True
            if self._listener is not None:
                self._listener()

    def reset(self, listener: Callable[[], None] | None) -> None:
        self.started = False
        self._listener = listener


class _Hung(Exception):
    """A streamed attempt that had not started to answer by half the time left."""


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a provider's error response, if it is one."""
    for e in _causes(exc):
        if openai is not None and isinstance(e, openai.APIStatusError):
            return e.status_code
        status = getattr(e, "status_code", None)  # other SDKs' status errors
        if isinstance(status, int) and getattr(e, "response", None) is not None:
            return status
    return None


# httpx (most provider SDKs) and httpx2 (the OpenAI SDK's fork of it). Their errors are taken
# from whichever is loaded: an error of a client that was never imported cannot be raised, and
# importing httpx only to name its errors costs a cold start about 0.1 s.
_HTTP_CLIENTS = ("httpx", "httpx2")


def _http_errors(name: str) -> tuple[type[BaseException], ...]:
    errors = (getattr(sys.modules.get(client), name, None) for client in _HTTP_CLIENTS)
    return tuple(e for e in errors if isinstance(e, type) and issubclass(e, BaseException))


def is_timeout(exc: BaseException) -> bool:
    timeouts: tuple[type[BaseException], ...] = (TimeoutError, *_http_errors("TimeoutException"))
    if openai is not None:
        timeouts += (openai.APITimeoutError,)
    return any(isinstance(e, timeouts) for e in _causes(exc))


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: a hung attempt, a failed or dropped connection, or a status
    that says "try again"."""
    if isinstance(exc, _Hung):
        return True
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES or status >= 500
    connection: tuple[type[BaseException], ...] = (ConnectionError, *_http_errors("TransportError"))
    if openai is not None:
        connection += (openai.APIConnectionError,)
    return any(isinstance(e, connection) for e in _causes(exc))


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's Retry-After (seconds or an HTTP date) or retry-after-ms, in seconds."""
    for e in _causes(exc):
        # The response of the SDK's HTTP client (openai's is its own fork of httpx's).
        headers = getattr(getattr(e, "response", None), "headers", None)
        if headers is None or not hasattr(headers, "get"):
            continue
        try:
            if headers.get("retry-after-ms") is not None:
                return max(float(headers["retry-after-ms"]) / 1000, 0.0)
            value = headers.get("retry-after")
            if value is None:
                return None
            try:
                return max(float(value), 0.0)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                return max(when.timestamp() - time.time(), 0.0)
        except (TypeError, ValueError, OverflowError):
            return None
    return None


async def call_with_retries(
    start: Callable[[], Awaitable[T]],
    timeout_s: float,
    *,
    attempts: int,
    progress: Progress | None = None,
) -> T:
    """`start()` once, and again after a transient failure while `attempts` and the deadline
    allow. Raises DeadlineExceeded or ModelUnavailable (a KopichatError from `start` as is)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    if timeout_s <= 0:
        raise DeadlineExceeded("the model did not answer before the deadline")

    tries = 0

    async def attempt() -> T:
        nonlocal tries
        tries += 1
        left = deadline - loop.time()
        patient = progress is None or tries >= attempts
        began = loop.time()
        try:
            async with asyncio.timeout_at(deadline if patient else loop.time() + left / 2) as t:
                if progress is not None:
                    progress.reset(None if patient else lambda: t.reschedule(deadline))
                return await start()
        except TimeoutError:
            log.warning("model attempt %d timed out after %.1f s", tries, loop.time() - began)
            if not patient and progress is not None and not progress.started:
                raise _Hung from None  # not a word by half the time left: presumed hung
            raise

    def pause(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = retry_after_s(exc) if exc is not None else None
        return after if after is not None else BACKOFF_S * 2 ** (state.attempt_number - 1)

    def stop(state: RetryCallState) -> bool:
        """Attempts used up, or too little time left after the pause for another one."""
        out_of_time = deadline - loop.time() - pause(state) < MIN_ATTEMPT_S
        return state.attempt_number >= attempts or out_of_time

    def note_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        # Class name and status only: provider messages can echo request details.
        log.warning(
            "model attempt %d failed (%s%s); trying again in %.1f s",
            state.attempt_number,
            type(exc).__name__,
            f" {status_of(exc)}" if exc is not None and status_of(exc) else "",
            pause(state),
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda e: not isinstance(e, KopichatError) and is_transient(e)),
        stop=stop,
        wait=pause,
        before_sleep=note_retry,
        sleep=asyncio.sleep,
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except KopichatError:
        raise
    except Exception as exc:
        log.warning("model call failed: %s", type(exc).__name__)
        log.debug("model call failure in detail", exc_info=True)
        if is_timeout(exc) or isinstance(exc, _Hung):
            raise DeadlineExceeded("the model did not answer before the turn's deadline") from None
        # Class name only: provider messages can echo request details.
        raise ModelUnavailable(f"the model is unavailable ({type(exc).__name__})") from None
