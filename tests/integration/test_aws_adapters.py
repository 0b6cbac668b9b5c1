"""The AWS start-up pieces: the OpenAI key from Secrets Manager (moto's server on loopback, a real
HTTP API), RDS IAM auth tokens (signed locally with dummy credentials), and the per-connection
password hook on a real MariaDB connection."""

from __future__ import annotations

import importlib
import json
import re
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agent.adapters.aws import (
    database_password_source,
    openai_key_from_secret,
    rds_iam_password_source,
)
from agent.adapters.sql.engine import make_engine
from agent.errors import ConfigError
from agent.settings import load_settings
from tests.deploy.lambda_events import build_event, lambda_context, response_json
from tests.openai_mock import mock_openai

REGION = "eu-west-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAKOPICHATTEST0000",
    "AWS_SECRET_ACCESS_KEY": "kopichat-dummy-secret-key",
    "AWS_DEFAULT_REGION": REGION,
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, and no profile or metadata lookups that could leave the machine."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def secrets_manager(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's server on a free loopback port; boto3 is pointed at it by its endpoint variable."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its state per process, not per server: start each test from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
    try:
        yield boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
    finally:
        server.stop()


def test_the_key_is_read_from_a_json_secret_or_a_bare_one(secrets_manager: Any) -> None:
    secrets_manager.create_secret(
        Name="kopichat/openai", SecretString=json.dumps({"OPENAI_API_KEY": "sk-from-json"})
    )
    secrets_manager.create_secret(Name="kopichat/bare", SecretString="sk-bare\n")
    assert openai_key_from_secret("kopichat/openai", REGION) == "sk-from-json"
    assert openai_key_from_secret("kopichat/bare", REGION) == "sk-bare"


def test_an_unreadable_secret_fails_at_start_naming_the_setting(secrets_manager: Any) -> None:
    with pytest.raises(ConfigError, match=r"KOPICHAT_OPENAI_KEY_SECRET.*ResourceNotFound"):
        openai_key_from_secret("kopichat/missing", REGION)
    secrets_manager.create_secret(Name="kopichat/other", SecretString='{"OTHER": "sk-secret"}')
    with pytest.raises(ConfigError, match="holds no OPENAI_API_KEY") as raised:
        openai_key_from_secret("kopichat/other", REGION)
    assert "sk-secret" not in str(raised.value)


def test_the_lambda_handler_reads_the_key_at_init_and_uses_it(
    secrets_manager: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    secrets_manager.create_secret(
        Name="kopichat/openai", SecretString=json.dumps({"OPENAI_API_KEY": "sk-at-init"})
    )
    with mock_openai() as openai:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("KOPICHAT_MODEL", raising=False)
        monkeypatch.setenv("KOPICHAT_OPENAI_KEY_SECRET", "kopichat/openai")
        monkeypatch.setenv("AWS_REGION", REGION)
        monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
        monkeypatch.chdir(tmp_path)  # away from a developer's .env
        sys.modules.pop("api.lambda_handler", None)
        module = importlib.import_module("api.lambda_handler")
        sys.modules.pop("api.lambda_handler", None)
        opening = {"conversation_id": None, "message": "Convince me that tea beats coffee."}
        result = module.handler(
            build_event("rest_v1", "POST", "/api/chat", opening), lambda_context()
        )
        assert result["statusCode"] == 200, result
        assert response_json(result)["message"][-1]["role"] == "bot"
        assert [r["auth"] for r in openai.chat_requests()] == ["Bearer sk-at-init"]


def test_the_key_comes_from_one_place_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.adapters.aws import with_openai_key_from_secret

    settings = load_settings(OPENAI_API_KEY="sk-env", KOPICHAT_OPENAI_KEY_SECRET="kopichat/openai")
    with pytest.raises(ConfigError, match="not both"):
        with_openai_key_from_secret(settings)
    plain = load_settings(OPENAI_API_KEY="sk-env")
    assert with_openai_key_from_secret(plain) is plain


def test_an_rds_iam_token_is_signed_for_the_proxy_user_and_region(aws_env: None) -> None:
    token = rds_iam_password_source(REGION)(
        "kopichat-prod.proxy-abc.eu-west-1.rds.amazonaws.com", 3306, "kopichat"
    )
    parts = urlsplit(f"https://{token}")
    assert parts.hostname == "kopichat-prod.proxy-abc.eu-west-1.rds.amazonaws.com"
    assert parts.port == 3306
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["Action"] == "connect"
    assert query["DBUser"] == "kopichat"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert re.fullmatch(
        rf"{DUMMY_CREDENTIALS['AWS_ACCESS_KEY_ID']}/\d{{8}}/{REGION}/rds-db/aws4_request",
        query["X-Amz-Credential"],
    )
    assert query["X-Amz-Expires"] == "900"
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"])
    other = rds_iam_password_source(REGION)(
        "kopichat-prod.proxy-abc.eu-west-1.rds.amazonaws.com", 3306, "admin"
    )
    assert parse_qs(urlsplit(f"https://{other}").query)["X-Amz-Signature"] != [
        query["X-Amz-Signature"]
    ]


def test_iam_auth_needs_the_region() -> None:
    with pytest.raises(ConfigError, match="AWS_REGION"):
        database_password_source(load_settings(KOPICHAT_DB_IAM_AUTH="true", AWS_REGION=""))
    assert database_password_source(load_settings()) is None


@pytest.mark.mysql
def test_each_new_connection_asks_for_a_fresh_password(mysql_url: str) -> None:
    """On MariaDB: a user whose password only the source knows; the URL has none."""
    user, password = f"kp_iam_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    admin = create_engine(mysql_url)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
    asked: list[tuple[str, int, str]] = []

    def source(host: str, port: int, login: str) -> str:
        asked.append((host, port, login))
        return password

    server = make_url(mysql_url)
    url = make_url(f"{server.drivername}://{user}@{server.host}:{server.port or 3306}/")
    try:
        engine = make_engine(url.render_as_string(hide_password=False), password_source=source)
        for _ in range(2):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT CURRENT_USER()")).scalar_one().startswith(user)
            engine.dispose()  # the next connect opens a new connection
        assert asked == [(url.host, url.port or 3306, user)] * 2

        wrong = make_engine(
            url.render_as_string(hide_password=False), password_source=lambda *_: "not-it"
        )
        with pytest.raises(OperationalError, match="Access denied"):
            wrong.connect()
        wrong.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()
