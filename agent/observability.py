"""Per-request facts for the request's log line, gathered as the request runs.

The HTTP side opens a record per request; the use case and the adapters add what they learn
(conversation id, model, prompt version, token counts). Outside a request nothing is recorded.
"""

from __future__ import annotations

from contextvars import ContextVar

_record: ContextVar[dict[str, object] | None] = ContextVar("kopichat_request_facts", default=None)


def open_record() -> dict[str, object]:
    """Start a fresh record for the current request (and the tasks and threads it starts)."""
    record: dict[str, object] = {}
    _record.set(record)
    return record


def note(**facts: object) -> None:
    record = _record.get()
    if record is not None:
        record.update(facts)


def add_tokens(prompt: int, completion: int) -> None:
    """Token counts add up over a turn's attempts."""
    record = _record.get()
    if record is not None:
        record["tokens_in"] = _as_int(record.get("tokens_in")) + prompt
        record["tokens_out"] = _as_int(record.get("tokens_out")) + completion


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0
