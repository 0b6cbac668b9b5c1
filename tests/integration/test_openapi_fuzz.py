"""Schemathesis fuzzes the live API against its own OpenAPI schema: every status it can provoke
is declared, every response matches its schema, bad methods get a proper 405."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, running_server

pytestmark = pytest.mark.slow
# The fuzzer's config, found in its working directory. POST .../cancel succeeds only while a turn
# runs, which requests sent one at a time never catch: every case gets 404 (a random id) or the
# documented 409 no_turn_in_progress, and the fuzzer would warn that it found no test data.
# tests/integration/test_stream_resume_cancel.py cancels running turns.
FUZZ_CONFIG = """
[[operations]]
include-operation-id = "cancel_turn"
warnings = false
"""


def test_the_schema_fuzzer_finds_nothing_undocumented(tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    assert schemathesis.exists(), "schemathesis is missing: install the dev extra"
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.db'}"}
    (tmp_path / "schemathesis.toml").write_text(FUZZ_CONFIG, encoding="utf-8")
    with running_server(env, tmp_path) as server:
        done = subprocess.run(
            [
                str(schemathesis),
                "run",
                f"{server.base_url}/openapi.json",
                "--max-examples",
                "60",
                "--seed",
                "20261126",  # reproducible: the same cases every run
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
            },
            check=False,
        )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
