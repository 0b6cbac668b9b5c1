"""The JSON log formatter: one object per line, and the keys every line owns stay its own."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from api.logs import RESERVED_KEYS, KopichatJsonFormatter, bind_request_id, include_trace_ids


def _record(
    msg: str = "request",
    level: int = logging.INFO,
    extra: dict[str, object] | None = None,
    exc_info: bool = False,
) -> logging.LogRecord:
    logger = logging.getLogger("kopichat.test")
    info = sys.exc_info() if exc_info else None
    return logger.makeRecord(logger.name, level, __file__, 1, msg, (), info, extra=extra or None)


def _line(record: logging.LogRecord) -> dict[str, object]:
    text = KopichatJsonFormatter().format(record)
    assert "\n" not in text
    parsed: dict[str, object] = json.loads(text)
    return parsed


def test_a_line_has_the_reserved_keys_and_the_fields() -> None:
    bind_request_id("req-1")
    line = _line(_record(extra={"fields": {"status": 200, "route": "/api/chat"}}))
    assert line["level"] == "info"
    assert line["logger"] == "kopichat.test"
    assert line["msg"] == "request"
    assert line["request_id"] == "req-1"
    assert str(line["ts"]).endswith("+00:00")
    assert line["status"] == 200
    assert line["route"] == "/api/chat"
    # Nothing else: no copy of the message, no record attributes, no `fields` wrapper.
    assert set(line) == {"ts", "level", "logger", "msg", "request_id", "status", "route"}


@pytest.mark.parametrize("key", sorted(RESERVED_KEYS - {"extra"}))
def test_a_field_never_overwrites_a_reserved_key(key: str) -> None:
    bind_request_id("req-2")
    line = _line(_record(msg="the real message", extra={"fields": {key: "forged", "x": 1}}))
    assert line["msg"] == "the real message"
    assert line["level"] == "info"
    assert line["logger"] == "kopichat.test"
    assert line["request_id"] == "req-2"
    assert line["ts"] != "forged"
    assert "error" not in line or line["error"] != "forged"
    assert line["extra"] == {key: "forged"}  # kept, under its own key
    assert line["x"] == 1


@pytest.mark.parametrize("key", ["level", "ts", "logger", "request_id", "extra"])
def test_a_plain_extra_key_never_overwrites_a_reserved_key(key: str) -> None:
    bind_request_id("req-3")
    line = _line(_record(extra={key: "forged"}))
    assert line["level"] == "info"
    assert line["logger"] == "kopichat.test"
    assert line["request_id"] == "req-3"
    assert line["ts"] != "forged"
    assert line["extra"] == {key: "forged"}


def test_an_exception_goes_under_error_and_non_json_values_as_text() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(level=logging.ERROR, extra={"fields": {"at": object}}, exc_info=True)
    line = _line(record)
    assert line["level"] == "error"
    assert "ValueError: boom" in str(line["error"])
    assert line["at"] == str(object)


def test_text_stays_unescaped() -> None:
    assert "ねこ" in KopichatJsonFormatter().format(_record(msg="ねこ"))


def test_uvicorns_coloured_copy_of_a_message_is_left_out() -> None:
    record = _record(
        "Started server process [7]",
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    line = _line(record)
    assert line["msg"] == "Started server process [7]"
    assert "color_message" not in line
    assert "\x1b" not in json.dumps(line)


def test_a_line_written_inside_a_span_carries_its_trace_and_span_ids() -> None:
    ids: list[tuple[str, str] | None] = [("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")]
    include_trace_ids(lambda: ids[0])
    try:
        inside = _line(_record(extra={"fields": {"trace_id": "not mine"}}))
        ids[0] = None  # no span active
        outside = _line(_record())
    finally:
        include_trace_ids(None)
    assert inside["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert inside["span_id"] == "b7ad6b7169203331"
    assert inside["extra"] == {"trace_id": "not mine"}  # a field may not take its place
    assert "trace_id" not in outside
    assert "span_id" not in outside
