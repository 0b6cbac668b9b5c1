"""The Lambda function imports what a request needs and nothing more: every module imported at
init is paid for on each cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT

# Imported by the handler module in a fresh interpreter, configured as on Lambda (OpenAI, MySQL);
# no connection is made at import.
_CHILD = """
import json, sys
import api.lambda_handler
from opentelemetry import trace
print(json.dumps({"modules": sorted(sys.modules),
                  "tracer_provider": type(trace.get_tracer_provider()).__name__}))
"""
# Modules a request never needs: the migrations (the migration function runs them), the rate
# limiter's library while no rate limit is set, the benchmark's LangChain baseline, and what
# only traces need while no OTLP endpoint is set (protobuf is `google.protobuf`). Nor, at init,
# what only some requests need: the language model's NumPy and py3langid (not even then, with
# the compact model made), plain httpx (the OpenAI SDK uses its fork, httpx2) and with it rich,
# and the event-stream library with the uvicorn and click it imports (a stream's first request).
NOT_AT_INIT = (
    "alembic",
    "numpy",
    "py3langid",
    "httpx",
    "rich",
    "sse_starlette",
    "uvicorn",
    "click",
    "agent.migrate",
    "limits",
    "langchain_community",
    "boto3",
    "agent.adapters.otel",
    "api.tracing",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "opentelemetry.proto",
    "opentelemetry.sdk.trace.export",
    "google",
)


def _init(**settings: str) -> dict[str, Any]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOPICHAT_", "OPENAI_", "OTEL_"))
    }
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
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _modules_after_init(**settings: str) -> set[str]:
    return set(_init(**settings)["modules"])


def _unwanted(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == name or m.startswith(f"{name}.") for name in NOT_AT_INIT)
    )


def test_the_handler_imports_no_migration_rate_limit_or_tracing_code() -> None:
    modules = _modules_after_init()
    assert "api.lambda_handler" in modules
    assert _unwanted(modules) == []


def test_without_an_otlp_endpoint_no_tracer_provider_is_set() -> None:
    """FastAPI imports the OpenTelemetry API for its own telemetry, which stays off while no
    tracer provider is set (LangSmith also imports the SDK's TracerProvider class where the SDK
    is installed, which the Lambda image does not do). Kopichat sets none: nothing is traced."""
    assert _init()["tracer_provider"] == "ProxyTracerProvider"


def test_the_rate_limiter_is_imported_when_a_rate_limit_is_set() -> None:
    assert "limits" in _modules_after_init(KOPICHAT_RATE_LIMIT="60/minute")


def test_the_tracing_code_is_imported_when_an_otlp_endpoint_is_set() -> None:
    found = _init(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert found["tracer_provider"] == "TracerProvider"
    wanted = {"opentelemetry.sdk.trace.export", "agent.adapters.otel", "api.tracing"}
    assert wanted <= set(found["modules"])
