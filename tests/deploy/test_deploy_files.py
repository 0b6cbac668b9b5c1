"""Offline checks of the deployment files: Dockerfile, docker-compose.yml, infra/template.yaml.

No Docker engine and no AWS account are needed: hadolint, cfn-lint and the Compose
Specification JSON schema (vendored in tests/deploy/compose-spec.json) do the checking, and a few
assertions pin the properties the issue asks for.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from typing import Any

import jsonschema
import pytest

from tests.deploy.tooling import (
    DEPLOY_TESTS,
    ROOT,
    dockerfile_stages,
    load_cfn_template,
    load_yaml,
    venv_tool,
)

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
TEMPLATE = ROOT / "infra" / "template.yaml"
COMPOSE_SCHEMA = DEPLOY_TESTS / "compose-spec.json"
LAMBDA_HANDLER = "api.lambda_handler.handler"


# --- Dockerfile -------------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = venv_tool("hadolint")
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_every_ignored_hadolint_rule_is_justified() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            above = lines[number - 1].strip() if number else ""
            why = f"Dockerfile line {number + 1}: put a comment saying why right above {line!r}"
            assert above.startswith("#"), why
            assert "hadolint" not in above, why
            for rule in re.findall(r"DL\d{4}|SC\d{4}", line):
                context = " ".join(lines[max(0, number - 4) : number])
                assert rule in context, f"the comment above line {number + 1} should name {rule}"


def test_dockerfile_has_a_lambda_and_a_server_target() -> None:
    stages = {stage.name: stage for stage in dockerfile_stages(DOCKERFILE.read_text())}
    assert {"lambda", "server"} <= stages.keys()

    lambda_stage = stages["lambda"]
    assert re.match(r"public\.ecr\.aws/lambda/python:3\.1[2-9]\.", lambda_stage.base)
    assert stages["lambda-build"].base == lambda_stage.base
    assert f'CMD ["{LAMBDA_HANDLER}"]' in lambda_stage.instructions

    server = stages["server"]
    assert server.base.startswith("python:3.11")
    assert 'CMD ["python", "-m", "api"]' in server.instructions
    users = [i for i in server.instructions if i.upper().startswith("USER ")]
    assert users, "the server stage must switch to a non-root user"
    assert users[-1].split()[1].split(":")[0] not in {"root", "0"}


def test_base_images_are_pinned() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    for stage in stages:
        if stage.base in {other.name for other in stages}:
            continue  # FROM an earlier stage
        image = stage.base.split("@", 1)[0]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag, f"stage {stage.name}: pin {stage.base!r} to a tag"
        assert tag != "latest", f"stage {stage.name}: pin {stage.base!r} to a version"
        assert re.search(r"\d+\.\d+\.\d+", tag), f"stage {stage.name}: {tag!r} is not a version"
        assert re.search(r"@sha256:[0-9a-f]{64}$", stage.base), f"stage {stage.name}: no digest"


def test_final_stages_carry_no_build_tools_and_no_offline_model() -> None:
    stages = {stage.name: stage for stage in dockerfile_stages(DOCKERFILE.read_text())}
    for name in ("lambda", "server"):
        text = "\n".join(stages[name].instructions)
        for tool in ("build-essential", "gcc", "g++", "cmake", "apt-get install", "yum install"):
            assert tool not in text, f"stage {name} installs {tool}"
    lambda_build = "\n".join(stages["lambda-build"].instructions)
    assert "[local]" not in lambda_build
    assert "llama" not in lambda_build


def test_the_server_image_builds_llama_cpp_for_the_portable_baseline() -> None:
    # The same flags as `make install`, from the one script that holds them, plus no OpenMP.
    stages = {stage.name: stage for stage in dockerfile_stages(DOCKERFILE.read_text())}
    build = "\n".join(stages["server-build"].instructions)
    assert "COPY scripts/llama-cmake-args.sh ./scripts/" in build
    assert 'CMAKE_ARGS="$(bash scripts/llama-cmake-args.sh portable) -DGGML_OPENMP=OFF"' in build
    assert "!scripts/llama-cmake-args.sh" in (ROOT / ".dockerignore").read_text().splitlines()
    printed = subprocess.run(
        ["bash", str(ROOT / "scripts" / "llama-cmake-args.sh"), "portable"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.split()
    assert {"-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"} <= set(
        printed
    )
    beyond_baseline = [f for f in printed if f.endswith("=ON") and ("512" in f or "AMX" in f)]
    assert not beyond_baseline
    assert "-DGGML_AVX_VNNI=OFF" in printed


def test_dockerignore_keeps_secrets_and_caches_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "exclude everything, then allow what the images need"
    for pattern in ("**/.env", "**/__pycache__", "**/*.db"):
        assert pattern in patterns


# --- docker-compose.yml -----------------------------------------------------------------------


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in compose_validator().iter_errors(document)
    ]


def test_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(load_yaml(COMPOSE_FILE)) == []


def test_the_compose_schema_rejects_a_broken_file() -> None:
    """The validator really validates: a misspelt key and a bad condition are caught."""
    broken = copy.deepcopy(load_yaml(COMPOSE_FILE))
    broken["services"]["db"]["healthchek"] = broken["services"]["db"].pop("healthcheck")
    broken["services"]["api"]["depends_on"]["db"]["condition"] = "healthy"
    errors = schema_errors(broken)
    assert any("healthchek" in error for error in errors), errors
    assert any("depends_on" in error for error in errors), errors


def test_compose_stack_shape() -> None:
    compose = load_yaml(COMPOSE_FILE)
    services = compose["services"]
    assert set(services) == {"db", "migrate", "api"}

    db = services["db"]
    assert db["image"] == "mysql:8.4"
    assert "healthcheck" in db
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the database needs a named volume"

    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "agent.migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"

    api = services["api"]
    assert api["build"]["target"] == "server"
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # .env holds the root password: the app services list their variables instead.
    assert "env_file" not in api
    assert "env_file" not in migrate
    assert api["environment"]["HOST"] == "0.0.0.0"
    assert all(port.startswith("127.0.0.1:") for port in api["ports"])


def test_env_example_holds_no_secrets_and_names_every_compose_variable() -> None:
    text = (ROOT / ".env.example").read_text()
    assert not re.search(r"sk-[A-Za-z0-9]{16,}", text), "a real-looking OpenAI key"
    assigned = {line.split("=", 1)[0] for line in text.splitlines() if re.match(r"\w+=", line)}
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert used <= assigned | {"KOPICHAT_EXTRAS"}, used - assigned


# --- infra/template.yaml ----------------------------------------------------------------------


def test_cfn_lint_finds_no_errors_or_warnings() -> None:
    cfn_lint = venv_tool("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    assert result.returncode & 0b110 == 0, f"cfn-lint:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cfn_template(TEMPLATE)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_functions_use_the_image_with_a_timeout_between_the_deadlines(
    template: dict[str, Any],
) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    api = functions["ApiFunction"]
    assert api["Properties"]["PackageType"] == "Image"
    assert api["Metadata"]["DockerBuildTarget"] == "lambda"
    assert 25 < api["Properties"]["Timeout"] < 29
    migrate = functions["MigrateFunction"]
    assert migrate["Properties"]["ImageConfig"]["Command"] == ["migrate_handler.handler"]
    assert migrate["Metadata"]["DockerBuildTarget"] == "lambda"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KOPICHAT_TIMEOUT_S"] == "25"
    url = env["DATABASE_URL"]["Fn::Sub"]
    # IAM auth to the proxy: a user, no password (test_sam_transform.py checks the rest).
    assert url.startswith("mysql+pymysql://${DbUser}@${DbProxy.Endpoint}:3306/")
    assert "OPENAI_API_KEY" not in env


def test_the_api_routes_every_path_and_the_page_at_the_root(template: dict[str, Any]) -> None:
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values()}
    assert routes == {("/{proxy+}", "ANY"), ("/", "GET")}


def test_api_is_throttled(template: dict[str, Any]) -> None:
    (api,) = resources_of(template, "AWS::Serverless::Api").values()
    settings = api["Properties"]["MethodSettings"][0]
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= settings.keys()


def test_only_the_functions_reach_the_database(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    (proxy_in,) = groups["ProxySecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert proxy_in["SourceSecurityGroupId"] == {"Ref": "LambdaSecurityGroup"}
    (db_in,) = groups["DbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert db_in["SourceSecurityGroupId"] == {"Ref": "ProxySecurityGroup"}
    for rule in (proxy_in, db_in):
        assert "CidrIp" not in rule
        assert rule["FromPort"] == rule["ToPort"] == 3306
    database = template["Resources"]["Database"]["Properties"]
    assert database["PubliclyAccessible"] is False
    assert database["Engine"] == "mysql"
    assert str(database["EngineVersion"]).startswith("8.")


def test_logs_are_retained_and_errors_alarm(template: dict[str, Any]) -> None:
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    functions = resources_of(template, "AWS::Serverless::Function")
    assert len(log_groups) == len(functions) == 3  # API, migrations, purge: one each
    assert all("RetentionInDays" in g["Properties"] for g in log_groups.values())
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert any(a["Properties"]["MetricName"] == "Errors" for a in alarms.values())


def test_every_alarm_notifies_when_it_fires_and_when_it_clears(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert alarms
    topic = {"Ref": "AlarmTopic"}
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props.get("AlarmActions") == [topic], f"{name}: no AlarmActions"
        assert props.get("OKActions") == [topic], f"{name}: no OKActions"


def stage_name(value: Any) -> str:
    """A resource name as docs/deployment.md writes it: ``kopichat-${Stage}-api`` is
    ``kopichat-<Stage>-api``."""
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    return str(value["Fn::Sub"]).replace("${Stage}", "<Stage>")


def test_the_deployment_doc_counts_what_the_template_creates(template: dict[str, Any]) -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    start = text.index("## AWS: what gets created")
    created = text[start : text.index("\n## ", start + 1)]
    functions = resources_of(template, "AWS::Serverless::Function")
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    images = [f for f in functions.values() if f["Properties"].get("PackageType") == "Image"]

    def counts(pattern: str) -> set[int]:
        found = {int(n) for n in re.findall(pattern, text)}
        assert found, f"docs/deployment.md no longer says {pattern!r}: update this test"
        return found

    assert counts(r"(\d+) alarms\b") == {len(alarms)}
    # sam deploy --resolve-image-repos creates one ECR repository per image function.
    assert counts(r"× (\d+) repositories") == {len(images)}
    # The generated DB secret, and the OpenAI key's, which you create before the first deploy.
    assert counts(r"(\d+) secrets ×") == {len(secrets) + 1}
    for name, function in functions.items():
        assert stage_name(function["Properties"]["FunctionName"]) in created, name
    for name, alarm in alarms.items():
        assert stage_name(alarm["Properties"]["AlarmName"]) in created, name


def test_parameters_cover_stage_model_and_sizes(template: dict[str, Any]) -> None:
    assert {
        "Stage",
        "ModelName",
        "FunctionMemoryMB",
        "DbInstanceClass",
        "DbAllocatedStorageGB",
        "ThrottleRateLimit",
        "ThrottleBurstLimit",
    } <= template["Parameters"].keys()
    assert "local" not in template["Parameters"]["ModelName"]["Default"]


def test_compose_spec_schema_is_vendored_with_its_licence() -> None:
    assert (DEPLOY_TESTS / "compose-spec.LICENSE").is_file()
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    assert schema["title"] == "Compose Specification"
