"""Fixtures for the deployment tests: a live `python -m api` on the fake model, and newman."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import running_server
from tests.deploy.tooling import NEWMAN_VERSION, POSTMAN_DIR, LiveServer, system_tool


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`python -m api` on a free loopback port: fake model, a fresh SQLite file."""
    work = tmp_path_factory.mktemp("postman-server")
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{work / 'x.db'}"}
    with running_server(env, work) as server:
        yield LiveServer(server.base_url, server.log_path)


def _installed_newman_version(newman: Path) -> str | None:
    package = newman.resolve().parent.parent / "package.json"
    try:
        version = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


@pytest.fixture(scope="session")
def newman() -> Path:
    """newman, pinned by docs/postman/package-lock.json; `npm ci` installs it when missing."""
    newman = POSTMAN_DIR / "node_modules" / ".bin" / "newman"
    if newman.exists() and _installed_newman_version(newman) == NEWMAN_VERSION:
        return newman
    system_tool("node", "install Node.js >= 18 (Debian: apt-get install nodejs npm)")
    npm = system_tool("npm", "install npm (Debian: apt-get install npm)")
    result = subprocess.run(
        [str(npm), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=POSTMAN_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0 or not newman.exists():
        pytest.fail(f"npm ci in {POSTMAN_DIR} failed:\n{result.stdout}{result.stderr}")
    installed = _installed_newman_version(newman)
    assert installed == NEWMAN_VERSION, f"npm ci installed newman {installed}, not {NEWMAN_VERSION}"
    return newman
