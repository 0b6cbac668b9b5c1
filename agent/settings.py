"""Configuration from the environment (and `.env`). A bad value fails at start in one line."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import ConfigError

DEFAULT_OPENAI_MODEL = "openai:gpt-4o-mini"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_HASHED_KEY = re.compile(r"^sha256:[0-9a-f]{64}$")
_ORIGIN = re.compile(r"^https?://[^/\s,]+$")
MIN_API_KEY_CHARS = 16


def project_root() -> Path | None:
    """The checkout this code runs from (the folder holding pyproject.toml beside agent/), or
    None when it is installed as a package (the images, which set DATABASE_URL themselves)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def default_database_url() -> str:
    """SQLite in the project's root, whatever the working directory: `make run`, scripts and the
    notebook (whose kernel runs in docs/notebooks/) all use the same file. Outside a checkout:
    the working directory."""
    root = project_root()
    return f"sqlite:///{root / 'kopichat.db'}" if root else "sqlite:///./kopichat.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    model: str | None = Field(default=None, alias="KOPICHAT_MODEL")
    database_url: str = Field(default_factory=default_database_url, alias="DATABASE_URL")
    db_timeout_s: float = Field(default=3.0, gt=0, le=10, alias="KOPICHAT_DB_TIMEOUT_S")
    prompt_version: str = Field(default="v3", alias="KOPICHAT_PROMPT_VERSION")
    prompts_dir: str | None = Field(default=None, alias="KOPICHAT_PROMPTS_DIR")
    history_limit: int = Field(default=5, ge=1, le=100, alias="KOPICHAT_HISTORY_LIMIT")
    context_messages: int = Field(default=10, ge=0, le=200, alias="KOPICHAT_CONTEXT_MESSAGES")
    timeout_s: float = Field(default=25.0, gt=0, le=28, alias="KOPICHAT_TIMEOUT_S")
    max_message_chars: int = Field(
        default=2000, ge=1, le=100_000, alias="KOPICHAT_MAX_MESSAGE_CHARS"
    )
    max_body_bytes: int = Field(default=65_536, ge=256, alias="KOPICHAT_MAX_BODY_BYTES")
    max_turns: int = Field(default=1000, ge=1, alias="KOPICHAT_MAX_TURNS")
    max_reply_tokens: int = Field(default=400, ge=16, le=4096, alias="KOPICHAT_MAX_REPLY_TOKENS")
    local_max_tokens: int = Field(default=80, ge=16, le=1024, alias="KOPICHAT_LOCAL_MAX_TOKENS")
    local_queue: int = Field(default=4, ge=0, le=64, alias="KOPICHAT_LOCAL_QUEUE")
    # How an OpenAI-compatible model returns the opening's JSON: a JSON schema it must follow,
    # or the older JSON mode (for servers that do not support schemas).
    structured_output: Literal["json_schema", "json_mode"] = Field(
        default="json_schema", alias="KOPICHAT_STRUCTURED_OUTPUT"
    )
    # A token planted in every system prompt so that a reply which leaks the instructions can be
    # recognised (the evaluation harness sets a random one). Empty: none.
    canary: str = Field(
        default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$", alias="KOPICHAT_CANARY"
    )
    # "compact" marks an OpenAI-compatible model as small (a 1-8B model behind OPENAI_BASE_URL:
    # Ollama, llama.cpp, vLLM): it gets the compact prompt variant, its replies are tidied, and
    # a reply that repeats an earlier one is regenerated once, else replaced.
    model_profile: Literal["standard", "compact"] = Field(
        default="standard", alias="KOPICHAT_MODEL_PROFILE"
    )
    # The stance and leak guard (agent/understanding/guard.py): every reply is checked before it
    # is stored; one that concedes or leaks (or that the judge fails) is regenerated once, else
    # replaced; a suspected switch of side is left to the judge.
    guard: bool = Field(default=True, alias="KOPICHAT_GUARD")
    # The model that the guard asks whether a reply still holds the thesis (provider:model,
    # with OPENAI_API_KEY / OPENAI_BASE_URL), or "off". One more model call per turn. Unset: the
    # conversation model itself when it is an OpenAI-compatible one, else none.
    guard_judge_model: str | None = Field(
        default=None, pattern=r"^(?:off|[a-z0-9_-]+:\S+)$", alias="KOPICHAT_GUARD_JUDGE_MODEL"
    )
    # How long the judge may take (a small model on a CPU needs more than a hosted one); it is
    # asked only while the turn's deadline leaves this and a second more.
    guard_judge_timeout_s: float = Field(
        default=5.0, gt=0, le=20, alias="KOPICHAT_GUARD_JUDGE_TIMEOUT_S"
    )
    api_keys: SecretStr | None = Field(default=None, alias="KOPICHAT_API_KEYS")
    rate_limit: str | None = Field(default=None, alias="KOPICHAT_RATE_LIMIT")
    cors_origins: str | None = Field(default=None, alias="KOPICHAT_CORS_ORIGINS")
    retention_days: int | None = Field(
        default=None, ge=1, le=36_500, alias="KOPICHAT_RETENTION_DAYS"
    )
    host: str = Field(default="127.0.0.1", min_length=1, alias="HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="PORT")
    log_level: str = Field(default="info", alias="KOPICHAT_LOG_LEVEL")
    access_log: bool = Field(default=True, alias="KOPICHAT_ACCESS_LOG")
    # AWS (agent/adapters/aws.py): the OpenAI key read from Secrets Manager at start, and IAM
    # auth tokens instead of a password for the database (RDS Proxy).
    openai_key_secret: str | None = Field(default=None, alias="KOPICHAT_OPENAI_KEY_SECRET")
    db_iam_auth: bool = Field(default=False, alias="KOPICHAT_DB_IAM_AUTH")
    # Set the InnoDB lock wait on each new MySQL connection (a session-level SET). Off behind
    # RDS Proxy, where it would pin every connection; the proxy's InitQuery sets it there.
    db_session_init: bool = Field(default=True, alias="KOPICHAT_DB_SESSION_INIT")
    aws_region: str | None = Field(default=None, alias="AWS_REGION")

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "model",
        "prompts_dir",
        "api_keys",
        "rate_limit",
        "cors_origins",
        "retention_days",
        "openai_key_secret",
        "aws_region",
        "guard_judge_model",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value.strip()):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip() if value else value

    @field_validator("prompts_dir")
    @classmethod
    def _existing_dir(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"'{value}' is not one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("api_keys")
    @classmethod
    def _api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _parse_api_keys(value.get_secret_value())  # raises with a message naming no key
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError:
                raise ValueError(
                    f"'{value}' is not a rate like 60/minute or 10/second;100/hour"
                ) from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        if value is not None:
            for origin in _split(value):
                if origin != "*" and not _ORIGIN.match(origin):
                    raise ValueError(
                        f"'{origin}' is not an origin like https://app.example.com or *"
                    )
        return value

    @property
    def model_spec(self) -> str:
        """`KOPICHAT_MODEL`, or the default: OpenAI when a key is set, else the offline model."""
        if self.model:
            return self.model.strip()
        return DEFAULT_OPENAI_MODEL if self.openai_api_key else "local"

    @property
    def judge_model_spec(self) -> str | None:
        """The guard's judge: `KOPICHAT_GUARD_JUDGE_MODEL`, else the same OpenAI-compatible
        model as the debate ("off" or another provider: none)."""
        if self.guard_judge_model == "off":
            return None
        if self.guard_judge_model:
            return self.guard_judge_model
        return self.model_spec if self.model_spec.startswith("openai:") else None

    @property
    def api_key_hashes(self) -> frozenset[str]:
        """SHA-256 (hex) of every accepted API key; empty when keys are off."""
        if self.api_keys is None:
            return frozenset()
        return frozenset(_parse_api_keys(self.api_keys.get_secret_value()))

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins) if self.cors_origins else []


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _parse_api_keys(value: str) -> list[str]:
    """Comma-separated keys, each either the key itself or `sha256:<hex of the key's hash>`."""
    hashes = []
    for entry in _split(value):
        if _HASHED_KEY.match(entry):
            hashes.append(entry.removeprefix("sha256:"))
        elif entry.startswith("sha256:"):
            raise ValueError("a sha256: entry needs 64 lower-case hex digits")
        elif len(entry) < MIN_API_KEY_CHARS:
            raise ValueError(f"every key needs at least {MIN_API_KEY_CHARS} characters")
        else:
            hashes.append(hash_api_key(entry))
    if not hashes:
        raise ValueError("no key given (leave it unset to turn API keys off)")
    return hashes


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        field = Settings.model_fields.get(name)
        variable = field.alias if field is not None and field.alias else name
        raise ConfigError(f"{variable}: {_message(first)}") from None


def _message(error: Any) -> str:
    # Never echo the value of a secret setting: pydantic's message for a custom check is
    # "Value error, <our text>", and our texts name no secret.
    return str(error["msg"]).removeprefix("Value error, ")
