"""The `cursor` of GET /api/conversations: a list position as `<µs since 1970>.<id>`.

Clients treat it as opaque. Its pattern is in the schema, and every string that matches it is a
position (it may lie between conversations, or past the end), so no schema-valid cursor is
refused: anything else is a 422 from the pattern check.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from agent.domain import ListPosition

# 17 digits of microseconds reach the year 5138, inside what datetime and DATETIME hold.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(position: ListPosition) -> str:
    micros = (position.updated_at - _EPOCH) // _MICROSECOND
    return f"{micros}.{position.conversation_id}"


def decode_cursor(cursor: str) -> ListPosition:
    """The position of a cursor that matches CURSOR_PATTERN; ValueError for any other text."""
    if not _CURSOR.fullmatch(cursor):
        raise ValueError("cursor must be the next_cursor of the page before")
    micros, conversation_id = cursor.split(".", 1)
    return ListPosition(_EPOCH + int(micros) * _MICROSECOND, conversation_id)
