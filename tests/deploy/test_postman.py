"""The Postman collection (docs/postman/) run by newman against a live local server.

The server is `python -m api` on the fake model and a fresh SQLite file; newman comes from npm,
pinned by docs/postman/package-lock.json (`npm ci`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tooling import POSTMAN_DIR, LiveServer

COLLECTION = POSTMAN_DIR / "kopichat.postman_collection.json"
ENVIRONMENT = POSTMAN_DIR / "kopichat.postman_environment.json"
SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

pytestmark = pytest.mark.slow


def requests_in(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        if "item" in item:
            found.extend(requests_in(item["item"]))
        else:
            found.append(item)
    return found


def test_collection_is_v21_and_every_request_asserts() -> None:
    collection = json.loads(COLLECTION.read_text())
    assert collection["info"]["schema"] == SCHEMA_V21
    environment = json.loads(ENVIRONMENT.read_text())
    assert [v["key"] for v in environment["values"]] == ["baseUrl"]
    for request in requests_in(collection["item"]):
        tests = [e for e in request.get("event", []) if e["listen"] == "test"]
        script = "\n".join(line for e in tests for line in e["script"]["exec"])
        assert "pm.test(" in script, request["name"]
        assert "pm.expect(" in script or "pm.response.to" in script, request["name"]
        assert request["request"]["url"]["raw"].startswith("{{baseUrl}}/"), request["name"]


def test_newman_runs_the_collection_without_a_failed_assertion(
    newman: Path, live_server: LiveServer, tmp_path: Path
) -> None:
    report_path = tmp_path / "newman-report.json"
    result = subprocess.run(
        [
            str(newman),
            "run",
            str(COLLECTION),
            "--environment",
            str(ENVIRONMENT),
            "--env-var",
            f"baseUrl={live_server.base_url}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report_path),
            "--color",
            "off",
            "--timeout-request",
            "20000",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = f"{result.stdout}{result.stderr}\n--- server log ---\n{live_server.log()}"
    assert report_path.exists(), f"newman wrote no report (exit {result.returncode}):\n{output}"
    run = json.loads(report_path.read_text())["run"]
    failures = [
        f"{f['source'].get('name', '?')}: {f['error'].get('test', '')} {f['error']['message']}"
        for f in run["failures"]
    ]
    assert result.returncode == 0, "newman failed:\n" + "\n".join(failures) + "\n" + output
    stats = run["stats"]
    assert stats["assertions"]["failed"] == 0, failures
    assert stats["assertions"]["total"] > 0
    expected_requests = len(requests_in(json.loads(COLLECTION.read_text())["item"]))
    assert stats["requests"]["total"] == expected_requests
    assert stats["requests"]["failed"] == 0
