"""Every llama.cpp build this checkout has, measured one after the other on the same machine.

`make install` keeps each build it made as a wheel in `.venv/wheels/<build>/` (portable by
default; native with KOPICHAT_LLAMA_BUILD=native). The installed one runs as is; any other is
unpacked into a temporary folder put first on PYTHONPATH. Each build is measured in a child
process of its own (`python -m bench.offline_model`) and then over HTTP (bench/offline_http.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.offline_http import OfflineHttp, measure_offline_http
from bench.offline_model import OfflineRun
from bench.servers import ROOT


@dataclass(frozen=True, slots=True)
class Build:
    name: str  # "portable" / "native"
    first_on_path: tuple[Path, ...]  # empty for the installed build


@dataclass
class OfflineResults:
    runs: list[OfflineRun]
    http: list[OfflineHttp]
    notes: list[str]


def _installed() -> str:
    marker = Path(sys.prefix) / ".llama-build"
    return marker.read_text().split()[0] if marker.is_file() else ""


@contextmanager
def available_builds() -> Iterator[list[Build]]:
    installed = _installed()
    builds = [Build(installed or "installed", ())]
    wheels = Path(sys.prefix) / "wheels"
    with tempfile.TemporaryDirectory(prefix="kopichat-llama-") as tmp:
        for folder in sorted(wheels.glob("*")) if wheels.is_dir() else []:
            found = sorted(folder.glob("llama_cpp_python-*.whl"))
            if not found or folder.name == installed:
                continue
            target = Path(tmp) / folder.name
            with zipfile.ZipFile(found[-1]) as wheel:
                wheel.extractall(target)
            for library in (target / "llama_cpp" / "lib").glob("*.so*"):
                library.chmod(0o755)
            builds.append(Build(folder.name, (target,)))
        yield builds


def _python_path(build: Build) -> str:
    return os.pathsep.join([*map(str, build.first_on_path), str(ROOT)])


def measure_builds(quick: bool, log: Callable[[str], None]) -> OfflineResults:
    results = OfflineResults([], [], [])
    with available_builds() as builds, tempfile.TemporaryDirectory() as logs:
        for build in builds:
            log(f"offline model, {build.name} build: in-process")
            env = {**os.environ, "PYTHONPATH": _python_path(build)}
            env["KOPICHAT_BENCH_LLAMA_BUILD"] = build.name
            done = subprocess.run(
                [sys.executable, "-m", "bench.offline_model", *(["--quick"] if quick else [])],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                results.notes.append(f"offline model, {build.name} build: failed ({tail})")
                continue
            results.runs.append(OfflineRun.from_json(json.loads(done.stdout.splitlines()[-1])))
            log(f"offline model, {build.name} build: over HTTP, streamed")
            results.http.append(
                measure_offline_http(build.name, build.first_on_path, quick, Path(logs))
            )
        log("fake model: over HTTP, streamed")
        results.http.append(measure_offline_http("fake", (), quick, Path(logs), model="fake"))
    return results
