"""Lambda entry point that applies the database migrations: ``python -m agent.migrate``.

The Dockerfile copies this file into the Lambda image next to the application, and the
``MigrateFunction`` in ``infra/template.yaml`` runs the same image with the command override
``["migrate_handler.handler"]``. Invoke it once after each deploy:

    aws lambda invoke --function-name kopichat-<stage>-migrate out.json && cat out.json

It runs the ``agent.migrate`` module exactly as ``python -m agent.migrate`` would, against the
``DATABASE_URL`` in the function's environment (with ``KOPICHAT_DB_IAM_AUTH``, IAM tokens for RDS
Proxy), first retrying to connect for ``KOPICHAT_MIGRATE_WAIT_S``, and holding the MySQL lock
``kopichat_migrate`` while it migrates. A failed migration raises, so the invocation reports
``FunctionError`` and the error goes to CloudWatch Logs.
"""

from __future__ import annotations

import runpy
import sys
import time
from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Run ``agent.migrate`` as ``__main__``; return a small JSON-able summary."""
    del event, context
    started = time.monotonic()
    saved_argv = sys.argv
    sys.argv = ["agent.migrate"]
    try:
        runpy.run_module("agent.migrate", run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # a CLI main() may end with sys.exit(...)
        if exc.code not in (0, None):
            raise RuntimeError(f"python -m agent.migrate exited with {exc.code!r}") from exc
    finally:
        sys.argv = saved_argv
    return {"status": "migrated", "seconds": round(time.monotonic() - started, 3)}
