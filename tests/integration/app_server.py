"""The real app under a real uvicorn in this process, with one part swapped for a fake.

For failures that no configuration of `python -m api` provokes on demand (an unexpected
exception, a model that fails mid-reply, a turn that is still running): the app is the one
`create_app` builds from the real services (SQLite, the fake model), with its turns driven by
a ScriptedResponder the test controls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn

from agent.bootstrap import build_services
from agent.ports import Responder
from agent.settings import load_settings
from agent.use_case import DebateTurns, TurnPolicy
from api.app import create_app
from tests.conftest import free_port
from tests.fakes import ScriptedResponder

STARTUP_LIMIT_S = 30.0  # hang guard, not a speed target


@contextmanager
def serving_with(
    responder: ScriptedResponder | Responder,
    folder: Path,
    database_url: str | None = None,
    **settings: object,
) -> Iterator[str]:
    """The app on a free loopback port, its turns answered by `responder`; yields the base URL.
    `database_url`: another database than a SQLite file in `folder` (e.g. one that a second
    server shares, to play two processes)."""
    loaded = load_settings(
        KOPICHAT_MODEL="fake",
        DATABASE_URL=database_url or f"sqlite:///{folder / 'app.db'}",
        **settings,
    )
    services = build_services(loaded)
    turns = DebateTurns(services.store, responder, TurnPolicy(timeout_s=loaded.timeout_s))
    app = create_app(replace(services, turns=turns))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    give_up = time.monotonic() + STARTUP_LIMIT_S
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < give_up, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.engine.dispose()
