"""`python -m api`: serve Kopichat under uvicorn on HOST:PORT."""

from __future__ import annotations

import sys

import uvicorn

from agent.errors import ConfigError
from agent.settings import load_settings
from api.app import app_from_environment


def main() -> int:
    try:
        settings = load_settings()
        app = app_from_environment(settings)
    except ConfigError as exc:
        print(f"kopichat: configuration error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON logging set up by app_from_environment
        log_level=settings.log_level,
        access_log=False,  # the request-context middleware writes one JSON line per request
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
