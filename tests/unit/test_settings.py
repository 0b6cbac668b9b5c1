"""Settings: defaults, and one clear line naming the variable when a value is bad."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.adapters.chat_models import make_chat_model
from agent.bootstrap import build_services
from agent.errors import ConfigError
from agent.settings import Settings, load_settings
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in Settings.model_fields.values():
        if field.alias:
            monkeypatch.delenv(field.alias, raising=False)
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


def test_the_default_database_is_the_projects_whatever_the_working_directory() -> None:
    # The fixture above runs every test from /: the file is still the checkout's kopichat.db,
    # where `make run` keeps it and the notebook (run in docs/notebooks/) finds it.
    assert load_settings().database_url == f"sqlite:///{ROOT / 'kopichat.db'}"


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


# Every setting, with a value that must stop the service at start, in one line naming it.
BAD_VALUES = {
    "OPENAI_BASE_URL": "ftp://models.example",
    "KOPICHAT_MODEL": "bogus",
    "DATABASE_URL": "not a url at all",
    "KOPICHAT_DB_TIMEOUT_S": "0",
    "KOPICHAT_PROMPT_VERSION": "latest",
    "KOPICHAT_PROMPTS_DIR": "/nonexistent/prompts",
    "KOPICHAT_HISTORY_LIMIT": "0",
    "KOPICHAT_CONTEXT_MESSAGES": "-1",
    "KOPICHAT_TIMEOUT_S": "forever",
    "KOPICHAT_MAX_MESSAGE_CHARS": "-1",
    "KOPICHAT_MAX_BODY_BYTES": "10",
    "KOPICHAT_MAX_TURNS": "0",
    "KOPICHAT_MAX_REPLY_TOKENS": "1",
    "KOPICHAT_LOCAL_MAX_TOKENS": "5",
    "KOPICHAT_LOCAL_QUEUE": "-1",
    "KOPICHAT_STRUCTURED_OUTPUT": "xml",
    "KOPICHAT_MODEL_PROFILE": "tiny",
    "KOPICHAT_CANARY": "has spaces",
    "KOPICHAT_GUARD": "maybe",
    "KOPICHAT_GUARD_JUDGE_MODEL": "gpt 4o",
    "KOPICHAT_GUARD_JUDGE_TIMEOUT_S": "60",
    "KOPICHAT_DB_IAM_AUTH": "maybe",
    "KOPICHAT_DB_SESSION_INIT": "maybe",
    "KOPICHAT_API_KEYS": "short",
    "KOPICHAT_RATE_LIMIT": "lots",
    "KOPICHAT_CORS_ORIGINS": "app.example.com",
    "KOPICHAT_RETENTION_DAYS": "0",
    "HOST": "",
    "PORT": "99999",
    "KOPICHAT_LOG_LEVEL": "loud",
    "KOPICHAT_ACCESS_LOG": "maybe",
}
# Any value is acceptable for these; their absence is what can be wrong (tested above).
FREE_FORM = {"OPENAI_API_KEY", "KOPICHAT_OPENAI_KEY_SECRET", "AWS_REGION"}


def all_variables() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def test_the_bad_value_table_covers_every_setting() -> None:
    assert set(BAD_VALUES) | FREE_FORM == all_variables()


@pytest.mark.parametrize(("name", "value"), sorted(BAD_VALUES.items()))
def test_every_setting_fails_at_start_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv("KOPICHAT_MODEL", "fake")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'settings.db'}")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as failure:
        build_services(load_settings())
    message = str(failure.value)
    assert message.startswith(f"{name}: "), message
    assert "\n" not in message


def test_a_secret_setting_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPICHAT_API_KEYS", "good-key-0123456789abc,tiny")
    with pytest.raises(ConfigError) as failure:
        load_settings()
    assert "tiny" not in str(failure.value)
    assert "good-key" not in str(failure.value)


def test_every_setting_is_in_env_example_and_the_readme() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in all_variables():
        assert re.search(rf"^# ?{name}=", example, re.MULTILINE), f"{name} not in .env.example"
        assert f"`{name}`" in readme, f"{name} not in README.md"


def test_a_bad_log_level_stops_the_server_with_one_line() -> None:
    env = {"KOPICHAT_LOG_LEVEL": "loud", "KOPICHAT_MODEL": "fake", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "api"], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "kopichat: configuration error: KOPICHAT_LOG_LEVEL: "
        "'loud' is not one of debug, info, warning, error, critical"
    ]


def test_api_keys_may_be_given_by_their_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "plain-key-0123456789abcdef"
    digest = hashlib.sha256(key.encode()).hexdigest()
    monkeypatch.setenv("KOPICHAT_API_KEYS", f" {key} ,sha256:{'a' * 64}")
    assert load_settings().api_key_hashes == {digest, "a" * 64}
