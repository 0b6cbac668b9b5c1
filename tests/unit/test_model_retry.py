"""What the model call's retry treats as transient, and how it reads Retry-After, with stand-in
errors shaped like provider SDKs' (the OpenAI client's own are tested against the mock in
tests/integration/test_model_retries.py)."""

from __future__ import annotations

import email.utils
import time

import pytest

from agent.adapters.model_retry import is_timeout, is_transient, retry_after_s, status_of


class FakeResponse:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class OtherSdkStatusError(Exception):
    """Another provider's status error: a status code and the HTTP response."""

    def __init__(self, status_code: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status_code}")
        self.status_code = status_code
        self.response = FakeResponse(headers or {})


@pytest.mark.parametrize(
    ("status", "transient"),
    [(408, True), (409, True), (429, True), (500, True), (529, True), (400, False), (401, False)],
)
def test_another_sdks_status_error_is_judged_by_its_status(status: int, transient: bool) -> None:
    assert status_of(OtherSdkStatusError(status)) == status
    assert is_transient(OtherSdkStatusError(status)) is transient


def test_a_wrapped_connection_error_is_transient_and_a_value_error_is_not() -> None:
    outer = RuntimeError("the chain failed")
    outer.__cause__ = ConnectionResetError("reset by peer")
    assert is_transient(outer)
    assert not is_transient(ValueError("not a completion"))
    assert not is_transient(OtherSdkStatusError(404))


def test_an_attribute_named_status_code_without_a_response_is_no_status() -> None:
    error = ValueError("bad")
    error.status_code = 503  # type: ignore[attr-defined]
    assert status_of(error) is None
    assert not is_transient(error)


def test_timeouts_are_recognised_by_type() -> None:
    assert is_timeout(TimeoutError())
    assert not is_timeout(ConnectionRefusedError())


def test_retry_after_in_seconds_milliseconds_or_as_a_date() -> None:
    assert retry_after_s(OtherSdkStatusError(429, {"retry-after": "2"})) == 2.0
    assert retry_after_s(OtherSdkStatusError(429, {"retry-after-ms": "250"})) == 0.25
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    after = retry_after_s(OtherSdkStatusError(503, {"retry-after": soon}))
    assert after is not None
    assert 25 <= after <= 30
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_s(OtherSdkStatusError(503, {"retry-after": past})) == 0.0


def test_no_or_unreadable_retry_after_is_none() -> None:
    assert retry_after_s(OtherSdkStatusError(429)) is None
    assert retry_after_s(OtherSdkStatusError(429, {"retry-after": "soon"})) is None
    assert retry_after_s(ValueError()) is None
