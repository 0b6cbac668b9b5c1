"""`python -m api`: serve Kopichat under uvicorn on HOST:PORT."""

from __future__ import annotations

import logging
import sys

import uvicorn

from agent.errors import ConfigError
from agent.settings import load_settings
from api.app import app_from_environment


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    try:
        settings = load_settings()
        logging.getLogger().setLevel(settings.log_level.upper())
        app = app_from_environment(settings)
    except ConfigError as exc:
        print(f"kopichat: configuration error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
