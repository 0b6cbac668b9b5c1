"""docs/notebooks/debate.ipynb, run headless as the docs say (`.venv/bin/jupyter execute
docs/notebooks/debate.ipynb`), in a copy of the checkout: with the fake model from top to bottom,
and replaying the debates that `make run`'s server stored in that same checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, running_server

NOTEBOOK = Path("docs") / "notebooks" / "debate.ipynb"
# What the notebook and `make run` need of a checkout (no .venv, .env or database).
CHECKOUT = ("agent", "api", "evals", "prompts", "docs/notebooks", "pyproject.toml", "Makefile")
# `make run` without a Docker engine: migrate the configured database, then serve.
MAKE_RUN = "$(BIN)/python -m agent.migrate && PORT=$(PORT) $(BIN)/python -m api"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    ignored = shutil.ignore_patterns("__pycache__", "*.db", ".ipynb_checkpoints", "*-run.ipynb")
    for part in CHECKOUT:
        source, target = ROOT / part, root / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignored)
        else:
            shutil.copy2(source, target)
    return root


def clean_env(checkout: Path, **extra: str) -> dict[str, str]:
    """No setting of the test run's own environment: the checkout's code, its defaults."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(checkout),
        **extra,
    }


def run_notebook(checkout: Path, out: Path, **env: str) -> str:
    """The headless run of the docs, from the checkout's root; the text of every output."""
    jupyter = Path(sys.executable).parent / "jupyter"
    done = subprocess.run(
        [str(jupyter), "execute", f"--output={out}", str(NOTEBOOK)],
        cwd=checkout,
        env=clean_env(checkout, **env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    notebook = json.loads(out.with_suffix(".ipynb").read_text(encoding="utf-8"))
    assert not any(
        output.get("output_type") == "error"
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    return "\n".join(
        "".join(output.get("text", ""))
        + "".join(output.get("data", {}).get("text/plain", ""))
        + "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def test_the_notebook_runs_with_the_fake_model(checkout: Path, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    outputs = run_notebook(checkout, tmp_path / "run", KOPICHAT_MODEL="fake", DATABASE_URL=empty)
    assert "model: fake" in outputs
    assert "Pineapple belongs on pizza." in outputs
    assert outputs.count("bot:  I stand by my position: Pineapple belongs on pizza.") == 3
    # The replay: no debate stored in that database, so a demo one in a scratch database.
    assert "no stored debate yet: a demo debate, in a scratch database" in outputs
    assert "thesis: Pineapple belongs on pizza." in outputs
    assert "| user | stored (v3) | replayed (v99) |" in outputs
    assert "| Sweet and salty never works. | I stand by my position: Pineapple belongs" in outputs
    assert outputs.count("My side has not moved: Pineapple belongs on pizza.") == 4


def debate(server_url: str, messages: list[str]) -> str:
    with httpx.Client(base_url=server_url, timeout=30) as client:
        conversation_id = None
        for message in messages:
            response = client.post(
                "/api/chat", json={"conversation_id": conversation_id, "message": message}
            )
            assert response.status_code == 200, response.text
            conversation_id = response.json()["conversation_id"]
    assert conversation_id is not None
    return str(conversation_id)


def served_by_make_run(checkout: Path, messages: list[str], **settings: str) -> str:
    """One debate through the API of a server started as `make run` starts it with no Docker
    engine (migrate, then `python -m api`, from the checkout's root, on its default database)."""
    env = clean_env(checkout, KOPICHAT_MODEL="fake", **settings)
    migrated = subprocess.run(
        [sys.executable, "-m", "agent.migrate"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    with running_server(env, checkout) as server:  # its working directory: the checkout
        return debate(server.base_url, messages)


@pytest.mark.slow
def test_the_notebook_replays_the_debates_that_make_run_stored(
    checkout: Path, tmp_path: Path
) -> None:
    assert MAKE_RUN in (checkout / "Makefile").read_text(encoding="utf-8")
    older = served_by_make_run(
        checkout,
        ["Cats are better than dogs.", "Cats purr, dogs bark all night."],
        KOPICHAT_PROMPT_VERSION="v1",
    )
    newer = served_by_make_run(
        checkout, ["Topic: tea. You argue that tea beats coffee.", "Coffee wakes me up faster."]
    )
    assert (checkout / "kopichat.db").is_file()

    # By prompt version: the older debate, not the newest.
    outputs = run_notebook(checkout, tmp_path / "v1", REPLAY_PROMPT_VERSION="v1")
    assert f"conversation: {older} prompt v1" in outputs
    assert "| user | stored (v1) | replayed (v99) |" in outputs
    assert "| Cats purr, dogs bark all night. |" in outputs
    # Nothing chosen: the newest.
    outputs = run_notebook(checkout, tmp_path / "newest")
    assert f"conversation: {newer} prompt v3" in outputs
    assert "| Coffee wakes me up faster. |" in outputs
    assert f"  {older}  v1  " in outputs  # listed, to choose from
    # By id.
    outputs = run_notebook(checkout, tmp_path / "by-id", REPLAY_CONVERSATION_ID=older)
    assert f"conversation: {older} prompt v1" in outputs
    # The kernel ran in docs/notebooks/ and made no database there.
    assert not list((checkout / "docs" / "notebooks").glob("*.db"))
