"""The database settings infra/template.yaml gives the functions, read as the app reads them.

Behind RDS Proxy a session-level ``SET`` (the driver's ``init_command`` included) pins each client
connection to one database connection for its whole life, so the app sends none there: the InnoDB
lock wait comes from the proxy target group's ``InitQuery`` instead. Locally (MariaDB, compose)
the engine keeps setting it per connection, and tests/integration/test_sql_store.py relies on
that bound.

The proxy requires TLS: PyMySQL checks its certificate against the CA bundle named by
``ssl_ca`` in DATABASE_URL. ``ssl_ca=certifi`` is the bundle of the certifi package, which the
image installs, rather than a system file that the Lambda base image may not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from agent.adapters.sql.engine import engine_from_settings, lock_wait_s, make_engine
from agent.settings import Settings, load_settings
from tests.deploy.tooling import ROOT, load_cfn_template

TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "eu-west-1"
# What the template's Fn::Sub in DATABASE_URL refers to, with made-up values.
SUBSTITUTIONS = {
    "DbUser": "kopichat",
    "DbProxy.Endpoint": "kopichat-prod.proxy-abc123.eu-west-1.rds.amazonaws.com",
    "DbName": "kopichat",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cfn_template(TEMPLATE)


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials for signing IAM tokens locally; nothing that could leave the machine."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAKOPICHATTEST0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "kopichat-dummy-secret-key")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def function_environment(template: dict[str, Any]) -> dict[str, str]:
    """The Globals environment of the functions, with the intrinsics filled in."""
    parameters = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    env: dict[str, str] = {}
    for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and "Ref" in value:
            env[name] = parameters[value["Ref"]]
        elif isinstance(value, dict) and "Fn::Sub" in value:
            env[name] = re.sub(r"\$\{([\w.]+)\}", lambda m: SUBSTITUTIONS[m[1]], value["Fn::Sub"])
        else:
            env[name] = str(value)
    return env


def aws_settings(template: dict[str, Any]) -> Settings:
    return load_settings(**function_environment(template), AWS_REGION=REGION)


class _Stop(Exception):
    """Raised instead of opening a connection, once its parameters are known."""


def connect_params(engine: Engine) -> dict[str, Any]:
    """The keyword arguments the engine hands to pymysql.connect, without connecting."""
    seen: dict[str, Any] = {}

    def capture(_dialect: object, _record: object, _cargs: object, cparams: dict[str, Any]) -> None:
        seen.update(cparams)
        raise _Stop

    event.listen(engine, "do_connect", capture)
    with pytest.raises(_Stop):
        engine.connect()
    return seen


@pytest.fixture
def aws_engine(template: dict[str, Any], offline_aws: None) -> Iterator[Engine]:
    engine = engine_from_settings(aws_settings(template))
    yield engine
    engine.dispose()


def test_the_template_turns_the_session_init_off(template: dict[str, Any]) -> None:
    settings = aws_settings(template)
    assert settings.db_session_init is False
    assert settings.db_iam_auth is True


def test_the_engine_with_the_aws_settings_sends_no_session_set(aws_engine: Engine) -> None:
    params = connect_params(aws_engine)
    assert params["host"] == SUBSTITUTIONS["DbProxy.Endpoint"]
    assert params["password"].startswith(SUBSTITUTIONS["DbProxy.Endpoint"])  # an IAM token
    assert params.get("init_command") is None
    assert params.get("sql_mode") is None
    assert not [k for k, v in params.items() if isinstance(v, str) and "SET " in v.upper()]


def test_locally_every_connection_bounds_its_lock_wait() -> None:
    """The capture above sees an init_command when there is one: the local engine's."""
    engine = make_engine("mysql+pymysql://kopichat:pw@127.0.0.1:3306/kopichat", 3.0)
    try:
        params = connect_params(engine)
    finally:
        engine.dispose()
    assert params["init_command"] == "SET SESSION innodb_lock_wait_timeout = 2"


def test_the_proxy_sets_the_lock_wait_the_app_would_have_set(template: dict[str, Any]) -> None:
    settings = aws_settings(template)
    target_group = template["Resources"]["DbProxyTargetGroup"]["Properties"]
    init_query = target_group["ConnectionPoolConfigurationInfo"]["InitQuery"]
    assert init_query == f"SET innodb_lock_wait_timeout = {lock_wait_s(settings.db_timeout_s)}"
    assert lock_wait_s(settings.db_timeout_s) < settings.db_timeout_s


def test_the_ca_bundle_of_the_aws_url_exists(aws_engine: Engine) -> None:
    import certifi

    ssl = connect_params(aws_engine)["ssl"]
    assert Path(ssl["ca"]).is_file(), ssl
    assert ssl["ca"] == certifi.where()
    assert "BEGIN CERTIFICATE" in Path(ssl["ca"]).read_text(encoding="ascii")


def test_an_explicit_ca_path_is_kept() -> None:
    engine = make_engine("mysql+pymysql://kopichat@db:3306/kopichat?ssl_ca=/srv/ca.pem")
    try:
        assert connect_params(engine)["ssl"] == {"ca": "/srv/ca.pem"}
    finally:
        engine.dispose()
