"""What `python -m api` logs as it starts on a fresh SQLite file: its own lines and the schema
migrations it applies, without the set-up chatter of the libraries under it (alembic's plugin
lines), which the debug level still shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import running_server

pytestmark = pytest.mark.slow

CHATTER = ("setup plugin ", "Context impl ", "Will assume ")


def startup_lines(folder: Path, level: str) -> list[dict[str, Any]]:
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{folder / 'fresh.db'}",
        "KOPICHAT_LOG_LEVEL": level,
    }
    with running_server(env, folder) as server:
        log = server.log()
    return [json.loads(line) for line in log.splitlines() if line.strip()]


def test_the_default_level_shows_no_library_chatter(tmp_path: Path) -> None:
    lines = startup_lines(tmp_path, "info")
    messages = [line["msg"] for line in lines]
    assert not [m for m in messages if m.startswith(CHATTER)], messages
    assert any(m.startswith("kopichat ready: model fake") for m in messages)
    assert any(m.startswith("Running upgrade  -> 0001") for m in messages)  # a fresh file


def test_the_debug_level_still_shows_it(tmp_path: Path) -> None:
    messages = [line["msg"] for line in startup_lines(tmp_path, "debug")]
    assert any(m.startswith("setup plugin alembic.autogenerate.") for m in messages)
