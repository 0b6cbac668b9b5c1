"""The Lambda function imports what a request needs and nothing more: every module imported at
init is paid for on each cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

# Imported by the handler module in a fresh interpreter, configured as on Lambda (OpenAI, MySQL);
# no connection is made at import.
_CHILD = """
import json, sys
import api.lambda_handler
print(json.dumps(sorted(sys.modules)))
"""
# Modules a request never needs: the migrations (the migration function runs them), the rate
# limiter's library while no rate limit is set, the benchmark's LangChain baseline.
NOT_AT_INIT = ("alembic", "agent.migrate", "limits", "langchain_community", "boto3")


def _modules_after_init(**settings: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOPICHAT_", "OPENAI_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "KOPICHAT_MODEL": "openai:gpt-4o-mini",
        "OPENAI_API_KEY": "sk-import-test-not-real",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "DATABASE_URL": "mysql+pymysql://kopichat@127.0.0.1:9/kopichat",
        **settings,
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(modules)


def test_the_handler_imports_no_migration_or_rate_limit_code() -> None:
    modules = _modules_after_init()
    assert "api.lambda_handler" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in NOT_AT_INIT or m in NOT_AT_INIT)
    assert loaded == []


def test_the_rate_limiter_is_imported_when_a_rate_limit_is_set() -> None:
    assert "limits" in _modules_after_init(KOPICHAT_RATE_LIMIT="60/minute")
