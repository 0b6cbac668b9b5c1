"""Configuration from the environment (and `.env`). A bad value fails at start in one line."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import ConfigError

DEFAULT_OPENAI_MODEL = "openai:gpt-4o-mini"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    model: str | None = Field(default=None, alias="KOPICHAT_MODEL")
    database_url: str = Field(default="sqlite:///./kopichat.db", alias="DATABASE_URL")
    prompt_version: str = Field(default="v2", alias="KOPICHAT_PROMPT_VERSION")
    prompts_dir: str | None = Field(default=None, alias="KOPICHAT_PROMPTS_DIR")
    history_limit: int = Field(default=5, ge=1, le=100, alias="KOPICHAT_HISTORY_LIMIT")
    context_messages: int = Field(default=10, ge=0, le=200, alias="KOPICHAT_CONTEXT_MESSAGES")
    timeout_s: float = Field(default=25.0, gt=0, le=28, alias="KOPICHAT_TIMEOUT_S")
    max_message_chars: int = Field(
        default=2000, ge=1, le=100_000, alias="KOPICHAT_MAX_MESSAGE_CHARS"
    )
    max_body_bytes: int = Field(default=65_536, ge=256, alias="KOPICHAT_MAX_BODY_BYTES")
    max_turns: int = Field(default=1000, ge=1, alias="KOPICHAT_MAX_TURNS")
    local_max_tokens: int = Field(default=120, ge=16, le=1024, alias="KOPICHAT_LOCAL_MAX_TOKENS")
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
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="PORT")
    log_level: str = Field(default="info", alias="KOPICHAT_LOG_LEVEL")
    access_log: bool = Field(default=True, alias="KOPICHAT_ACCESS_LOG")
    # AWS (agent/adapters/aws.py): the OpenAI key read from Secrets Manager at start, and IAM
    # auth tokens instead of a password for the database (RDS Proxy).
    openai_key_secret: str | None = Field(default=None, alias="KOPICHAT_OPENAI_KEY_SECRET")
    db_iam_auth: bool = Field(default=False, alias="KOPICHAT_DB_IAM_AUTH")
    aws_region: str | None = Field(default=None, alias="AWS_REGION")

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "model",
        "prompts_dir",
        "openai_key_secret",
        "aws_region",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def model_spec(self) -> str:
        """`KOPICHAT_MODEL`, or the default: OpenAI when a key is set, else the offline model."""
        if self.model:
            return self.model.strip()
        return DEFAULT_OPENAI_MODEL if self.openai_api_key else "local"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        field = Settings.model_fields.get(name)
        variable = field.alias if field is not None and field.alias else name
        raise ConfigError(f"{variable}: {first['msg']}") from None
