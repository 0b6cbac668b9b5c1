"""Settings: defaults, and one clear line naming the variable when a value is bad."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.adapters.chat_models import make_chat_model
from agent.errors import ConfigError
from agent.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "KOPICHAT_MODEL", "OPENAI_BASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env from the working tree


def test_no_key_means_the_offline_model_and_sqlite() -> None:
    settings = load_settings()
    assert settings.model_spec == "local"
    assert settings.database_url.startswith("sqlite")
    assert (settings.history_limit, settings.timeout_s, settings.max_message_chars) == (
        5,
        25.0,
        2000,
    )


def test_a_key_means_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    assert load_settings().model_spec == "openai:gpt-4o-mini"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KOPICHAT_HISTORY_LIMIT", "0"),
        ("KOPICHAT_TIMEOUT_S", "forever"),
        ("KOPICHAT_MAX_MESSAGE_CHARS", "-1"),
        ("PORT", "99999"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings()


@pytest.mark.parametrize("spec", ["bogus", "openai:", ":gpt"])
def test_a_bad_model_spec_fails(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setenv("KOPICHAT_MODEL", spec)
    with pytest.raises(ConfigError, match=r"^KOPICHAT_MODEL: "):
        make_chat_model(load_settings())


def test_openai_without_a_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPICHAT_MODEL", "openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match=r"^OPENAI_API_KEY: "):
        make_chat_model(load_settings())


def test_an_unknown_provider_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPICHAT_MODEL", "nosuchprovider:some-model")
    with pytest.raises(
        ConfigError, match=r"^KOPICHAT_MODEL: cannot use 'nosuchprovider:some-model'"
    ):
        make_chat_model(load_settings())


def test_the_server_refuses_to_start_with_one_clear_line() -> None:
    env = {"KOPICHAT_MODEL": "bogus", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "api"], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("kopichat: configuration error: KOPICHAT_MODEL: 'bogus'")
