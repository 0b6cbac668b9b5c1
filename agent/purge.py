"""`python -m agent.purge`: delete what the retention rules say is old.

- conversations idle (no turn) for more than KOPICHAT_RETENTION_DAYS days, with every message
  and idempotency record of theirs (nothing is deleted by age when the setting is unset);
- Idempotency-Key records older than 24 hours (replays are promised for 24 hours only).
- events of streamed turns older than 15 minutes (kept only for clients that reconnect).

Run it daily: from cron (`make purge`), or on AWS as a scheduled Lambda whose handler is
`agent.purge.handler` (docs/reliability.md has the template snippet).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.adapters.sql.engine import engine_from_settings
from agent.adapters.sql.store import SqlConversationStore
from agent.domain import PurgeReport
from agent.errors import ConfigError, DatabaseUnavailable
from agent.ports import ConversationStore
from agent.settings import Settings, load_settings
from agent.use_case import IDEMPOTENCY_TTL_S


async def purge_old(
    store: ConversationStore, retention_days: int | None, now: datetime
) -> PurgeReport:
    idle_before = now - timedelta(days=retention_days) if retention_days else None
    keys_before = now - timedelta(seconds=IDEMPOTENCY_TTL_S)
    return await store.purge(idle_before=idle_before, keys_before=keys_before)


def run(settings: Settings) -> PurgeReport:
    engine = engine_from_settings(settings)
    try:
        store = SqlConversationStore(engine, timeout_s=settings.db_timeout_s)
        return asyncio.run(purge_old(store, settings.retention_days, datetime.now(UTC)))
    finally:
        engine.dispose()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point for the daily schedule."""
    settings = load_settings()
    report = run(settings)
    result = {
        "conversations_deleted": report.conversations,
        "idempotency_keys_deleted": report.idempotency_keys,
        "retention_days": settings.retention_days,
    }
    print(json.dumps({"msg": "purge", **result}))
    return result


def main() -> int:
    try:
        settings = load_settings()
        report = run(settings)
    except ConfigError as exc:
        print(f"kopichat: configuration error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"kopichat: {exc}", file=sys.stderr)
        return 1
    kept = (
        f"conversations idle over {settings.retention_days} days"
        if settings.retention_days
        else "no conversations (KOPICHAT_RETENTION_DAYS is unset)"
    )
    print(
        f"kopichat: purged {report.conversations} conversations and "
        f"{report.idempotency_keys} idempotency keys ({kept}; keys older than 24 h)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
