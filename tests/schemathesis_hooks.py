"""Hooks for the schema fuzzer (loaded through SCHEMATHESIS_HOOKS by test_openapi_fuzz.py).

Every request the fuzzer sends is a new request, so it gets a key of its own when it sends an
Idempotency-Key at all, as a real client does. Without this, two generated requests that happen
to share a key but differ in body get the documented 422 idempotency_key_mismatch, which a
stateless check reads as "valid data rejected". Key reuse is tested on purpose elsewhere
(tests/integration/test_http_api.py, tests/unit/test_use_case.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = f"fuzz-{uuid.uuid4()}"
