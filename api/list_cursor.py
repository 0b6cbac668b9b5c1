"""The opaque `cursor` of GET /api/conversations: a list position, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from agent.domain import ListPosition, is_conversation_id

INVALID = "cursor must be the next_cursor of an earlier page of this list, unchanged"


def encode_cursor(position: ListPosition) -> str:
    at = position.updated_at.astimezone(UTC).isoformat(timespec="microseconds")
    raw = f"{at}|{position.conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> ListPosition:
    """Raises ValueError (with INVALID as its message) for anything encode_cursor did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, conversation_id = raw.split("|")
        updated_at = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(INVALID) from None
    if updated_at.tzinfo is None or not is_conversation_id(conversation_id):
        raise ValueError(INVALID)
    return ListPosition(updated_at, conversation_id)
