"""The list cursor: every position round-trips, and only the documented form is read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from agent.domain import ListPosition
from api.list_cursor import CURSOR_PATTERN, decode_cursor, encode_cursor

ID = "3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 3, 17, 2, 11, 123456, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(5000, 1, 1, 0, 0, 0, 999999, tzinfo=UTC),
    ],
)
def test_a_position_round_trips_to_the_microsecond(at: datetime) -> None:
    cursor = encode_cursor(ListPosition(at, ID))
    assert re.match(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == ListPosition(at, ID)


@pytest.mark.parametrize(
    "cursor", ["", "1", f"x.{ID}", f"1.{ID.upper()}", f"{10**17}.{ID}", f"1.{ID}\n", f"-1.{ID}"]
)
def test_any_other_text_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="next_cursor"):
        decode_cursor(cursor)
