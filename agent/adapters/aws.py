"""AWS at start-up, for the Lambda deployment: the OpenAI key from Secrets Manager, and IAM
authentication tokens for RDS Proxy.

Neither secret sits in the function's environment, where anyone allowed
`lambda:GetFunctionConfiguration` could read it:

* `KOPICHAT_OPENAI_KEY_SECRET` names a secret (JSON with `OPENAI_API_KEY`, or the bare key). It is
  read once, when the container starts, and kept for the container's life.
* `KOPICHAT_DB_IAM_AUTH=true`: every new database connection gets a fresh token from
  `generate_db_auth_token` as its password (signed locally with the function's role, valid 15
  minutes, no network call). The database password then lives only in the secret that RDS Proxy
  reads, so rotating it needs no redeploy.

boto3 (the `aws` extra) is imported only when one of them is configured: locally, in compose and
in the tests, a plain `OPENAI_API_KEY` and `DATABASE_URL` work as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from agent.errors import ConfigError
from agent.settings import Settings

# host, port, user -> the password for a new connection
PasswordSource = Callable[[str, int, str], str]


def _client(service: str, region: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise ConfigError(
            f"{service}: boto3 is missing (install the aws extra: pip install 'kopichat[aws]')"
        ) from None
    return boto3.client(service, region_name=region)


def openai_key_from_secret(secret_id: str, region: str | None) -> str:
    """The OpenAI key stored in Secrets Manager under ``secret_id``; ConfigError if unreadable."""
    client = _client("secretsmanager", region)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = client.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as exc:
        # The error code only (e.g. AccessDeniedException), never the response body.
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
        raise ConfigError(
            f"KOPICHAT_OPENAI_KEY_SECRET: cannot read {secret_id!r} ({code or type(exc).__name__})"
        ) from None
    text = str(value.get("SecretString") or "").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    key = parsed.get("OPENAI_API_KEY") if isinstance(parsed, dict) else parsed
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(
            f"KOPICHAT_OPENAI_KEY_SECRET: {secret_id!r} holds no OPENAI_API_KEY "
            '(store {"OPENAI_API_KEY": "sk-..."} or the bare key)'
        )
    return key.strip()


def rds_iam_password_source(region: str) -> PasswordSource:
    """Fresh RDS IAM auth tokens, signed with the credentials boto3 finds (the function's role)."""
    client = _client("rds", region)

    def token(host: str, port: int, user: str) -> str:
        signed: str = client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=region
        )
        return signed

    return token


def with_openai_key_from_secret(settings: Settings) -> Settings:
    """The settings with the key read from `KOPICHAT_OPENAI_KEY_SECRET`, when that is set."""
    if not settings.openai_key_secret:
        return settings
    if settings.openai_api_key is not None:
        raise ConfigError("KOPICHAT_OPENAI_KEY_SECRET: set either it or OPENAI_API_KEY, not both")
    key = openai_key_from_secret(settings.openai_key_secret, settings.aws_region)
    return settings.model_copy(update={"openai_api_key": SecretStr(key)})


def database_password_source(settings: Settings) -> PasswordSource | None:
    """IAM auth tokens for the database when `KOPICHAT_DB_IAM_AUTH` is on, else None."""
    if not settings.db_iam_auth:
        return None
    if not settings.aws_region:
        raise ConfigError("AWS_REGION: KOPICHAT_DB_IAM_AUTH needs the region (Lambda sets it)")
    return rds_iam_password_source(settings.aws_region)
