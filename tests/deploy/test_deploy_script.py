"""`make deploy` (scripts/deploy.sh) against stand-in `sam` and `aws` commands on PATH that
record their arguments and answer like the real ones: parameter overrides pass through,
deletion protection waits for the stack to exist, the migration waits for RDS Proxy's target."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.tooling import ROOT

# Both stand-ins log their argv as one JSON line to $FAKE_LOG.
_FAKE_SAM = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["sam", *sys.argv[1:]]) + "\\n")
"""
_FAKE_AWS = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["aws", *args]) + "\\n")
if args[:2] == ["cloudformation", "describe-stacks"]:
    status = os.environ["FAKE_STACK_STATUS"]
    if status == "NONE":
        print("An error occurred (ValidationError): Stack does not exist", file=sys.stderr)
        sys.exit(255)
    print(status)
elif args[:2] == ["rds", "describe-db-proxy-targets"]:
    states_file = os.environ["FAKE_PROXY_STATES"]
    states = open(states_file).read().split()
    print(states[0])
    open(states_file, "w").write(" ".join(states[1:] or states))
elif args[:2] == ["lambda", "invoke"]:
    error = os.environ.get("FAKE_MIGRATE_ERROR", "None")
    with open(args[-1], "w") as out:
        out.write(json.dumps({"status": "migrated"} if error == "None" else {"errorMessage": "x"}))
    print(error)
else:
    sys.exit(2)
"""


@dataclass
class Run:
    returncode: int
    output: str
    calls: list[list[str]]

    def calls_of(self, *head: str) -> list[list[str]]:
        return [c for c in self.calls if c[: len(head)] == list(head)]

    def overrides(self) -> dict[str, str]:
        (deploy,) = self.calls_of("sam", "deploy")
        after = deploy[deploy.index("--parameter-overrides") + 1 :]
        return dict(item.split("=", 1) for item in after if "=" in item)


def make_deploy(
    tmp_path: Path,
    *make_args: str,
    stack_status: str = "NONE",
    proxy_states: str = "AVAILABLE",
    migrate_error: str = "None",
    wait_s: int = 60,
) -> Run:
    work = tmp_path / "repo"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    shutil.copy(ROOT / "scripts" / "deploy.sh", work / "scripts" / "deploy.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("sam", _FAKE_SAM), ("aws", _FAKE_AWS)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    states = tmp_path / "proxy-states"
    states.write_text(proxy_states)
    log = tmp_path / "calls.jsonl"
    log.touch()
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "FAKE_STACK_STATUS": stack_status,
        "FAKE_PROXY_STATES": str(states),
        "FAKE_MIGRATE_ERROR": migrate_error,
        "KOPICHAT_DEPLOY_POLL_S": "0",
        "KOPICHAT_DEPLOY_WAIT_S": str(wait_s),
    }
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy", *make_args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return Run(result.returncode, result.stdout + result.stderr, calls)


def test_extra_parameter_overrides_pass_through(tmp_path: Path) -> None:
    run = make_deploy(
        tmp_path,
        "STAGE=dev",
        "AWS_REGION=us-east-1",
        "PARAMS=FunctionMemoryMB=2048 AlarmEmail=ops@example.com",
    )
    assert run.returncode == 0, run.output
    assert run.overrides() == {
        "Stage": "dev",
        "ModelName": "openai:gpt-4o-mini",
        "SecretsRevision": "1",
        "DbDeletionProtection": "false",
        "FunctionMemoryMB": "2048",
        "AlarmEmail": "ops@example.com",
    }
    (deploy,) = run.calls_of("sam", "deploy")
    assert deploy[deploy.index("--stack-name") + 1] == "kopichat-dev"
    assert deploy[deploy.index("--region") + 1] == "us-east-1"
    assert run.calls_of("sam", "build")


@pytest.mark.parametrize(
    ("stage", "status", "extra", "protection"),
    [
        ("prod", "NONE", (), "false"),  # first deploy: a rollback must be able to delete it
        ("prod", "CREATE_COMPLETE", (), "true"),
        ("prod", "UPDATE_ROLLBACK_COMPLETE", (), "true"),
        ("dev", "UPDATE_COMPLETE", (), "false"),
        ("prod", "UPDATE_COMPLETE", ("DB_DELETION_PROTECTION=false",), "false"),
        ("dev", "NONE", ("DB_DELETION_PROTECTION=true",), "true"),
    ],
)
def test_deletion_protection_waits_for_the_stack_to_exist(
    tmp_path: Path, stage: str, status: str, extra: tuple[str, ...], protection: str
) -> None:
    run = make_deploy(tmp_path, f"STAGE={stage}", *extra, stack_status=status)
    assert run.returncode == 0, run.output
    assert run.overrides()["DbDeletionProtection"] == protection


def test_a_stack_stuck_after_a_failed_first_deploy_is_reported_not_updated(
    tmp_path: Path,
) -> None:
    run = make_deploy(tmp_path, "STAGE=prod", stack_status="ROLLBACK_COMPLETE")
    assert run.returncode != 0
    assert "sam delete --stack-name kopichat-prod" in run.output
    assert run.calls_of("sam") == []


def test_the_migration_runs_once_the_proxy_target_is_available(tmp_path: Path) -> None:
    run = make_deploy(tmp_path, "STAGE=prod", proxy_states="REGISTERING UNAVAILABLE AVAILABLE")
    assert run.returncode == 0, run.output
    kinds = [" ".join(c[:3]) for c in run.calls if c[0] == "aws" and c[1] != "cloudformation"]
    assert kinds == ["aws rds describe-db-proxy-targets"] * 3 + ["aws lambda invoke"]
    (describe, *_) = run.calls_of("aws", "rds")
    assert describe[describe.index("--db-proxy-name") + 1] == "kopichat-prod"
    (invoke,) = run.calls_of("aws", "lambda", "invoke")
    assert invoke[invoke.index("--function-name") + 1] == "kopichat-prod-migrate"


def test_no_migration_while_the_proxy_has_no_target(tmp_path: Path) -> None:
    run = make_deploy(tmp_path, "STAGE=prod", proxy_states="REGISTERING", wait_s=0)
    assert run.returncode != 0
    assert "migrations not run" in run.output
    assert run.calls_of("aws", "lambda") == []


def test_a_failed_migration_fails_the_deploy_and_says_where_to_look(tmp_path: Path) -> None:
    run = make_deploy(tmp_path, "STAGE=prod", migrate_error="Unhandled")
    assert run.returncode != 0
    assert "/aws/lambda/kopichat-prod-migrate" in run.output
    assert "Repairing a half-applied migration" in run.output
