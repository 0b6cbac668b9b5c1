"""infra/template.yaml after the SAM transform (aws-sam-translator, offline), as CloudFormation
would deploy it: one throttled API stage, the secrets and database access each function gets,
and the parameters and versions a first deploy depends on."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from agent.errors import ConfigError
from agent.settings import load_settings
from tests.deploy.tooling import ROOT, load_cfn_template

TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "eu-west-1"


class NoManagedPolicies:
    """Stands in for SAM's IAM lookup of managed policy names; the template names none."""

    def load(self) -> dict[str, str]:
        return {}


def sam_build(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam build` writes into .aws-sam/build/template.yaml: an ImageUri per image function."""
    built = copy.deepcopy(template)
    for name, resource in built["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["ImageUri"] = f"{name.lower()}:latest"
    return built


def transformed(template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    defaults = {k: v.get("Default") for k, v in template["Parameters"].items()}
    values = {k: v for k, v in {**defaults, **parameters}.items() if v is not None}
    result: dict[str, Any] = transform(sam_build(template), values, NoManagedPolicies())
    return result


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAM asks boto3 for the region and partition only; no credentials, no network."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cfn_template(TEMPLATE)


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]


def condition_values(cfn: dict[str, Any], parameters: dict[str, str]) -> dict[str, bool]:
    """The template's Conditions, evaluated as CloudFormation would with these parameters."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return parameters[arg]
            if key == "Condition":
                return truth(arg)
            if key == "Fn::Equals":
                return str(value(arg[0])) == str(value(arg[1]))
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(a) for a in arg)
            if key == "Fn::Or":
                return any(value(a) for a in arg)
        if isinstance(node, dict | list):
            raise AssertionError(f"cannot evaluate condition {node!r}")
        return node

    def truth(name: str) -> bool:
        return bool(value(cfn["Conditions"][name]))

    return {name: truth(name) for name in cfn.get("Conditions", {})}


def resolved(node: Any, conditions: dict[str, bool]) -> Any:
    """``node`` with every Fn::If decided and every AWS::NoValue dropped."""
    no_value = object()

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            if set(item) == {"Fn::If"}:
                name, when_true, when_false = item["Fn::If"]
                return walk(when_true if conditions[name] else when_false)
            if item == {"Ref": "AWS::NoValue"}:
                return no_value
            pairs = ((k, walk(v)) for k, v in item.items())
            return {k: v for k, v in pairs if v is not no_value}
        if isinstance(item, list):
            return [v for v in map(walk, item) if v is not no_value]
        return item

    return walk(node)


def deployed(template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """The transformed template with its conditions decided for these parameters: what
    CloudFormation creates (resources whose Condition is false left out)."""
    cfn = transformed(template, **parameters)
    defaults = {k: v.get("Default") for k, v in template["Parameters"].items()}
    values = {k: str(v) for k, v in {**defaults, **parameters}.items() if v is not None}
    conditions = condition_values(cfn, values)
    kept = {
        name: resource
        for name, resource in cfn["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }
    return {**cfn, "Resources": resolved(kept, conditions)}


def deployed_stages(cfn: dict[str, Any]) -> list[Any]:
    """Every stage the stack creates: Stage resources, and a Deployment with a StageName creates
    one too (that is how SAM's extra stage named "Stage" comes into being)."""
    names = [s["Properties"]["StageName"] for s in of_type(cfn, "AWS::ApiGateway::Stage").values()]
    for deployment in of_type(cfn, "AWS::ApiGateway::Deployment").values():
        if "StageName" in deployment["Properties"]:
            names.append(deployment["Properties"]["StageName"])
    return names


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_exactly_one_stage_and_it_is_throttled(template: dict[str, Any], stage: str) -> None:
    cfn = transformed(template, Stage=stage)
    assert deployed_stages(cfn) == [{"Ref": "Stage"}]
    (only,) = of_type(cfn, "AWS::ApiGateway::Stage").values()
    (settings,) = only["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottleBurstLimit"}
    assert settings["ResourcePath"] == "/*"
    assert settings["HttpMethod"] == "*"


def test_without_openapi_version_sam_adds_an_unthrottled_stage(template: dict[str, Any]) -> None:
    """The check above can fail: without the setting, SAM's deployment creates a stage "Stage"."""
    bare = copy.deepcopy(template)
    del bare["Resources"]["Api"]["Properties"]["OpenApiVersion"]
    assert sorted(map(str, deployed_stages(transformed(bare)))) == ["Stage", "{'Ref': 'Stage'}"]


def test_each_function_reaches_only_the_secrets_it_needs(template: dict[str, Any]) -> None:
    cfn = deployed(template)  # the default parameters: no API keys
    functions = of_type(cfn, "AWS::Lambda::Function")
    api, migrate = (
        functions["ApiFunction"]["Properties"],
        functions["MigrateFunction"]["Properties"],
    )
    roles = of_type(cfn, "AWS::IAM::Role")
    api_role = roles[api["Role"]["Fn::GetAtt"][0]]
    migrate_role = roles[migrate["Role"]["Fn::GetAtt"][0]]

    def actions(role: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for statement in statements(role):
            action = statement["Action"]
            found |= {action} if isinstance(action, str) else set(action)
        return found

    assert {"rds-db:connect", "secretsmanager:GetSecretValue"} <= actions(api_role)
    assert "rds-db:connect" in actions(migrate_role)
    assert "secretsmanager:GetSecretValue" not in actions(migrate_role)
    # No secret value in any function's environment, and the key's name on the API only.
    for props in (api, migrate):
        variables = props["Environment"]["Variables"]
        assert "OPENAI_API_KEY" not in variables
        assert "resolve:secretsmanager" not in repr(variables)
        assert variables["KOPICHAT_DB_IAM_AUTH"] == "true"
    assert api["Environment"]["Variables"]["KOPICHAT_OPENAI_KEY_SECRET"] == {
        "Ref": "OpenAIKeySecretName"
    }
    assert "KOPICHAT_OPENAI_KEY_SECRET" not in migrate["Environment"]["Variables"]


def api_environment(cfn: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = of_type(cfn, "AWS::Lambda::Function")["ApiFunction"]["Properties"][
        "Environment"
    ]["Variables"]
    return variables


def test_api_keys_and_the_rate_limit_are_off_by_default(template: dict[str, Any]) -> None:
    variables = api_environment(deployed(template))
    assert "KOPICHAT_API_KEYS" not in variables
    assert "KOPICHAT_RATE_LIMIT" not in variables


def test_api_keys_come_from_a_secret_and_the_rate_limit_is_a_value(
    template: dict[str, Any],
) -> None:
    cfn = deployed(template, ApiKeysSecretName="kopichat/api-keys", RateLimit="30/minute")
    variables = api_environment(cfn)
    # A dynamic reference, which CloudFormation resolves at deploy time: the template and its
    # parameters never hold the keys (and the secret holds only their hashes, see the template).
    reference = variables["KOPICHAT_API_KEYS"]["Fn::Sub"]
    assert reference.replace("${ApiKeysSecretName}", "kopichat/api-keys") == (
        "{{resolve:secretsmanager:kopichat/api-keys:SecretString:KOPICHAT_API_KEYS}}"
    )
    assert variables["KOPICHAT_RATE_LIMIT"] == {"Ref": "RateLimit"}
    # The helpers serve no requests: neither setting reaches them.
    for name in ("MigrateFunction", "PurgeFunction"):
        function = of_type(cfn, "AWS::Lambda::Function")[name]["Properties"]
        assert "resolve:secretsmanager" not in repr(function["Environment"]["Variables"])
        assert "KOPICHAT_RATE_LIMIT" not in function["Environment"]["Variables"]


@pytest.mark.parametrize("value", ["30/minute", "2/second;300/hour", "1/day;10000/day"])
def test_the_rate_limit_parameter_passes_rates_the_app_reads(
    template: dict[str, Any], value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    assert re.fullmatch(template["Parameters"]["RateLimit"]["AllowedPattern"], value)
    assert load_settings(KOPICHAT_RATE_LIMIT=value).rate_limit == value


@pytest.mark.parametrize("value", ["fast", "30/fortnight", "30/minute;", "minute/30"])
def test_the_rate_limit_parameter_refuses_what_the_app_refuses(
    template: dict[str, Any], value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert not re.fullmatch(template["Parameters"]["RateLimit"]["AllowedPattern"], value)
    with pytest.raises(ConfigError, match=r"^KOPICHAT_RATE_LIMIT: "):
        load_settings(KOPICHAT_RATE_LIMIT=value)


def test_the_proxy_requires_iam_auth(template: dict[str, Any]) -> None:
    (auth,) = template["Resources"]["DbProxy"]["Properties"]["Auth"]
    assert auth["IAMAuth"] == "REQUIRED"
    assert template["Resources"]["DbProxy"]["Properties"]["RequireTLS"] is True
    url = template["Globals"]["Function"]["Environment"]["Variables"]["DATABASE_URL"]["Fn::Sub"]
    user_part = url.split("://", 1)[1].split("@", 1)[0]
    assert ":" not in user_part, "DATABASE_URL must carry no password"
    assert "ssl_ca=" in url


def test_first_deploy_parameters_and_versions(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    protection = parameters["DbDeletionProtection"]
    assert protection["Default"] == "false", "on from the start, a failed first deploy is stuck"
    assert set(protection["AllowedValues"]) == {"true", "false"}
    database = template["Resources"]["Database"]["Properties"]
    assert database["DeletionProtection"] == {"Ref": "DbDeletionProtection"}
    assert database["EngineVersion"] == "8.4", "major.minor only: patch levels get retired"
    assert database["AutoMinorVersionUpgrade"] is True
    family = template["Resources"]["DbParameterGroup"]["Properties"]["Family"]
    assert family == f"mysql{database['EngineVersion']}"
    assert "DbProxyName" in template["Outputs"]


def test_a_daily_purge_runs_with_the_database_but_no_secret(template: dict[str, Any]) -> None:
    cfn = transformed(template)
    purge = of_type(cfn, "AWS::Lambda::Function")["PurgeFunction"]["Properties"]
    assert purge["ImageConfig"]["Command"] == ["agent.purge.handler"]
    variables = purge["Environment"]["Variables"]
    assert variables["KOPICHAT_RETENTION_DAYS"] == {"Ref": "RetentionDays"}
    assert "KOPICHAT_OPENAI_KEY_SECRET" not in variables
    role = of_type(cfn, "AWS::IAM::Role")[purge["Role"]["Fn::GetAtt"][0]]
    found = {
        action
        for statement in statements(role)
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert "rds-db:connect" in found
    assert "secretsmanager:GetSecretValue" not in found
    (schedule,) = of_type(cfn, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    assert template["Parameters"]["RetentionDays"]["Default"] == ""


def test_no_function_reserves_concurrency_by_default(template: dict[str, Any]) -> None:
    """A reservation needs an account concurrency quota of 100 + the reservations; new accounts
    often have 10, and the first deploy would roll back. Migrations take turns by their lock."""
    functions = of_type(deployed(template), "AWS::Lambda::Function")
    assert set(functions) == {"ApiFunction", "MigrateFunction", "PurgeFunction"}
    reserved = {
        name: f["Properties"]["ReservedConcurrentExecutions"]
        for name, f in functions.items()
        if "ReservedConcurrentExecutions" in f["Properties"]
    }
    assert reserved == {}


def test_reserved_concurrency_of_the_helpers_is_a_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ReserveHelperConcurrency"]
    assert parameter["Default"] == "false"
    assert set(parameter["AllowedValues"]) == {"true", "false"}
    functions = of_type(
        deployed(template, ReserveHelperConcurrency="true"), "AWS::Lambda::Function"
    )
    reserved = {
        name: f["Properties"].get("ReservedConcurrentExecutions") for name, f in functions.items()
    }
    assert reserved == {"ApiFunction": None, "MigrateFunction": 1, "PurgeFunction": 1}


def substituted(value: Any, parameters: dict[str, str], stack_name: str) -> Any:
    """A Fn::Sub string with the parameters and pseudo parameters filled in, as deployed."""
    if not (isinstance(value, dict) and set(value) == {"Fn::Sub"}):
        return value
    pattern = value["Fn::Sub"]
    assert isinstance(pattern, str), "only the one-argument form is used for names"
    known = {**parameters, "AWS::StackName": stack_name, "AWS::Region": REGION}

    def fill(match: re.Match[str]) -> str:
        return known[match[1]]

    return re.sub(r"\$\{([\w:]+)\}", fill, pattern)


def test_two_stages_in_one_region_get_different_schedule_names(template: dict[str, Any]) -> None:
    """EventBridge Scheduler names are unique per account and region (in the default group):
    SAM's default name, the event's logical id, is the same for every stack."""
    names = []
    for stage in ("prod", "dev"):
        cfn = transformed(template, Stage=stage)
        (schedule,) = of_type(cfn, "AWS::Scheduler::Schedule").values()
        stack = f"kopichat-{stage}"  # scripts/deploy.sh
        names.append(substituted(schedule["Properties"].get("Name"), {"Stage": stage}, stack))
    assert all(isinstance(name, str) and name for name in names), names
    assert names[0] != names[1], names
    assert all(len(name) <= 64 for name in names)
