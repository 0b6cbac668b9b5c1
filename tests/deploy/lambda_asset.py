"""The Lambda image's file layout, built without Docker by running the Dockerfile's own steps.

The `lambda-build` stage of the Dockerfile is read and carried out here, instruction by
instruction (WORKDIR, COPY from the build context, RUN), with this interpreter standing in for the
base image's `python` and `pip`, and container paths mapped into a scratch directory. Then the
`lambda` stage's COPY and ENV lines give the contents of `/var/task` and the function's
environment. So a change to those stages (say, dropping the bytecode step) shows here, in the
tests (tests/deploy/test_lambda_asset.py) and in the cold-start benchmark (bench/cold_start.py).

What differs from the real image: the interpreter (this one, not the base image's) and so the
wheels' platform tags; the real image's platform is checked by
tests/deploy/test_lambda_dependencies.py. The install needs the package registry, as the image
build does.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.tooling import ROOT, Stage, dockerfile_stage

TASK_ROOT = "/var/task"  # LAMBDA_TASK_ROOT in the base image
_BASE_IMAGE_ENV = {"LAMBDA_TASK_ROOT": TASK_ROOT}
# .dockerignore keeps these out of the build context, so COPY never sees them.
_IGNORED = ("__pycache__", "*.py[cod]", "*.db", "*.sqlite", ".env", ".env.*", ".mypy_cache")


@dataclass(frozen=True)
class LambdaAsset:
    task_root: Path  # what /var/task holds in the image
    env: dict[str, str]  # the lambda stage's ENV lines, container paths mapped

    def python_files(self) -> list[Path]:
        return sorted(self.task_root.rglob("*.py"))


class _Container:
    """Container paths mapped under a scratch root; a working directory like WORKDIR's."""

    def __init__(self, rootfs: Path, python: str) -> None:
        self.rootfs = rootfs
        self.python = python
        self.cwd = rootfs

    def path(self, container_path: str) -> Path:
        expanded = _expand(container_path)
        if expanded.startswith("/"):
            return self.rootfs / expanded.lstrip("/")
        return self.cwd / expanded

    def run_stage(self, stage: Stage) -> None:
        for instruction in stage.instructions:
            keyword, _, rest = instruction.partition(" ")
            keyword = keyword.upper()
            if keyword == "WORKDIR":
                self.cwd = self.path(rest.strip())
                self.cwd.mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                self.copy(shlex.split(rest))
            elif keyword == "RUN":
                self.run(rest)
            elif keyword in {"ENV", "CMD", "ARG", "LABEL"}:
                continue
            else:
                raise ValueError(f"stage {stage.name}: cannot carry out {keyword} here")

    def copy(self, args: list[str]) -> None:
        options = [a for a in args if a.startswith("--")]
        *sources, dest = [a for a in args if not a.startswith("--")]
        from_stage = any(o.startswith("--from=") for o in options)
        target = self.path(dest)
        # .dockerignore filters the build context only, not what comes from another stage.
        ignored = () if from_stage else _IGNORED
        for source in sources:
            origin = self.path(source) if from_stage else ROOT / source
            if origin.is_dir():
                shutil.copytree(
                    origin, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*ignored)
                )
            else:
                into = target / origin.name if dest.endswith("/") or target.is_dir() else target
                into.parent.mkdir(parents=True, exist_ok=True)
                if not any(fnmatch.fnmatch(origin.name, p) for p in ignored):
                    shutil.copy2(origin, into)

    def run(self, command: str) -> None:
        for part in command.split("&&"):
            argv = shlex.split(part)
            if any(token in {"|", ";", "||", ">", "<"} for token in argv):
                raise ValueError(f"cannot carry out shell syntax here: {part!r}")
            program, *rest = argv
            if program == "pip":
                head = [self.python, "-m", "pip"]
            elif program == "python":
                head = [self.python]
            else:
                raise ValueError(f"cannot carry out {program!r} here: {part!r}")
            mapped = [str(self.path(a)) if _expand(a).startswith("/") else a for a in rest]
            result = subprocess.run(
                [*head, *mapped],
                cwd=self.cwd,
                capture_output=True,
                text=True,
                check=False,
                timeout=900,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"RUN {part.strip()!r} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
                )


def _expand(value: str) -> str:
    for name, replacement in _BASE_IMAGE_ENV.items():
        value = value.replace(f"${{{name}}}", replacement).replace(f"${name}", replacement)
    return value


def _stage_env(stage: Stage, container: _Container) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.instructions:
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() != "ENV":
            continue
        for pair in shlex.split(rest):
            name, _, value = pair.partition("=")
            value = _expand(value)
            env[name] = str(container.path(value)) if value.startswith(TASK_ROOT) else value
    return env


def build_lambda_asset(work: Path, python: str = sys.executable) -> LambdaAsset:
    """Carry out the `lambda-build` stage, then the `lambda` stage's COPY lines, under ``work``."""
    container = _Container(work / "rootfs", python)
    container.rootfs.mkdir(parents=True, exist_ok=True)
    container.run_stage(dockerfile_stage("lambda-build"))
    final = dockerfile_stage("lambda")
    container.cwd = container.rootfs
    for instruction in final.instructions:
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() == "COPY":
            container.copy(shlex.split(rest))
    return LambdaAsset(container.path(TASK_ROOT), _stage_env(final, container))


def without_bytecode(asset: LambdaAsset, dest: Path) -> LambdaAsset:
    """A copy of the layout with every __pycache__ removed: the image as it was before."""
    shutil.copytree(asset.task_root, dest, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v.replace(str(asset.task_root), str(dest)) for k, v in asset.env.items()}
    return LambdaAsset(dest, env)


def handler_env(asset: LambdaAsset, **extra: str) -> dict[str, str]:
    """The environment of a fresh interpreter that sees only the layout (run it with -S)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(asset.task_root.parent),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(asset.task_root),
        **asset.env,
        **extra,
    }
