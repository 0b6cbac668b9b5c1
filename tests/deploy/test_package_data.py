"""`pip install .` (and so both Docker images) must carry the debate page's files: the build
copies package data by the globs in pyproject.toml, and a file they miss is silently left out."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.tooling import ROOT

STATIC = sorted(p.name for p in (ROOT / "api" / "static").iterdir() if p.is_file())


def test_the_built_package_serves_the_debate_page(tmp_path: Path) -> None:
    # setuptools is the build backend; a venv made by Python 3.11 ships it.
    if importlib.util.find_spec("setuptools") is None:
        if os.environ.get("CI"):
            pytest.fail("setuptools is missing from the venv: pip install setuptools")
        pytest.skip("setuptools is missing from the venv")
    built = tmp_path / "lib"
    # build_py is the step of a wheel build that copies the packages and their package data.
    setup = "import setuptools; setuptools.setup()"
    build = subprocess.run(
        [sys.executable, "-c", setup, "-q", "build_py", "--build-lib", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert STATIC == ["index.html", "page.css", "page.js"]
    assert sorted(p.name for p in (built / "api" / "static").iterdir()) == STATIC

    # And the copy alone, away from the working tree, builds the page.
    code = (
        "import api.page; from api.page import load_debate_page; "
        "print(api.page.__file__); print(len(load_debate_page(2000).html(streaming=False)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(built)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    where, size = run.stdout.split()
    assert Path(where).is_relative_to(built)
    assert int(size) > 10_000
