"""JSON log lines on stdout: one object per line, for CloudWatch and any log shipper.

Each line has `ts`, `level`, `logger`, `msg`, the `request_id` of the request it belongs to
(when there is one), `trace_id` and `span_id` (when traces are on and a span is active),
`error` (a traceback, when an exception is logged), and the structured
fields a caller passed as `extra={"fields": {...}}` (or as plain `extra` keys). The formatter is
python-json-logger's. Those reserved keys always mean what they say: a field that has the name
of one is kept under `extra` instead (`{"msg": "request", ..., "extra": {"msg": "..."}}`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_request_id: ContextVar[str | None] = ContextVar("kopichat_request_id", default=None)

# The keys every line owns; no field may take their place.
RESERVED_KEYS = frozenset(
    {"ts", "level", "logger", "msg", "request_id", "trace_id", "span_id", "error", "extra"}
)
# The LogRecord attribute that carries a caller's structured fields.
FIELDS_ATTR = "fields"


# The active span's trace and span ids, when traces are on (api/tracing.py sets it).
TraceIds = Callable[[], tuple[str, str] | None]
_trace_ids: TraceIds | None = None


def bind_request_id(request_id: str) -> None:
    _request_id.set(request_id)


def include_trace_ids(source: TraceIds | None) -> None:
    """Every line written while a span is active carries its `trace_id` and `span_id`."""
    global _trace_ids
    _trace_ids = source


class KopichatJsonFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            [],  # no format fields: add_fields below writes the line's own keys
            json_ensure_ascii=False,
            json_default=str,
            # The record's own attributes, `message` (set by format), the fields' carrier, and
            # uvicorn's terminal copy of its message (ANSI colour codes: noise in a JSON line).
            reserved_attrs=[*RESERVED_ATTRS, "message", "asctime", FIELDS_ATTR, "color_message"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        extras: dict[str, Any] = {}
        # python-json-logger's part: the record's `extra` keys, the formatted exception.
        super().add_fields(extras, record, message_dict)
        fields = getattr(record, FIELDS_ATTR, None)
        if isinstance(fields, dict):
            extras.update(fields)
        log_data["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["msg"] = record.message
        request_id = _request_id.get()
        if request_id is not None:
            log_data["request_id"] = request_id
        trace_ids = _trace_ids() if _trace_ids is not None else None
        if trace_ids is not None:
            log_data["trace_id"], log_data["span_id"] = trace_ids
        error = extras.pop("exc_info", None)
        if error:
            log_data["error"] = error
        clashes = {key: value for key, value in extras.items() if key in RESERVED_KEYS}
        log_data.update((key, value) for key, value in extras.items() if key not in RESERVED_KEYS)
        if clashes:
            log_data["extra"] = clashes


def configure_logging(level: str) -> None:
    """Route every logger (uvicorn's included) through one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(KopichatJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Below WARNING these libraries log request details (httpx logs every URL it calls).
    for noisy in ("httpx", "httpcore", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
