"""The Makefile's install stamp keys on content: `make -n` (a dry run, nothing installed) in a copy
of the files it reads shows when `make test` and `make run` would install first."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The Makefile and every file its stamp hashes.
FILES = (
    "Makefile",
    "pyproject.toml",
    "requirements.lock",
    "scripts/install-llama.sh",
    "scripts/llama-cmake-args.sh",
    "scripts/install-hash.sh",
)
INSTALLS = "kopichat: installing into .venv"
STAMP_WRITE = re.compile(r"^echo ([0-9a-f]{64}) > \.venv/\.installed-(\w+)$", re.MULTILINE)


def checkout(where: Path) -> Path:
    for name in FILES:
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, where / name)
    return where


def dry_run(root: Path, target: str = "test", **env: str) -> str:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=root,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def installed(root: Path, build: str = "portable") -> None:
    """What a finished install leaves: the stamp, written as the dry run says it would be."""
    (root / ".venv").mkdir(exist_ok=True)
    written = STAMP_WRITE.search(dry_run(root))
    assert written is not None
    assert written[2] == build
    (root / ".venv" / f".installed-{build}").write_text(written[1] + "\n")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return checkout(tmp_path / "kopichat")


@pytest.mark.parametrize("target", ["test", "run"])
def test_a_fresh_clone_installs_everything_first(root: Path, target: str) -> None:
    out = dry_run(root, target)
    assert INSTALLS in out
    assert "-m pip install --quiet -c requirements.lock -e '.[local,dev,bench,aws,otel]'" in out
    assert "bash scripts/install-llama.sh .venv portable" in out


@pytest.mark.parametrize("target", ["test", "run"])
def test_an_installed_checkout_does_not_install_again(root: Path, target: str) -> None:
    installed(root)
    assert INSTALLS not in dry_run(root, target)


def test_a_copied_checkout_does_not_reinstall(root: Path, tmp_path: Path) -> None:
    installed(root)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, copy_function=shutil.copyfile)  # cp -r: new file times
    for name in FILES:  # every input newer than the stamp, which make alone would rebuild
        os.utime(copy / name, (2_000_000_000, 2_000_000_000))
    assert INSTALLS not in dry_run(copy)


@pytest.mark.parametrize(
    "changed", ["requirements.lock", "pyproject.toml", "scripts/install-llama.sh"]
)
def test_a_changed_input_reinstalls_even_with_an_older_file_time(root: Path, changed: str) -> None:
    installed(root)
    path = root / changed
    times = (path.stat().st_atime, path.stat().st_mtime)
    path.write_text(path.read_text() + "\n# changed\n")
    os.utime(path, (times[0] - 86_400, times[1] - 86_400))  # older than the stamp
    assert INSTALLS in dry_run(root)


def test_a_stamp_of_the_older_kind_reinstalls(root: Path) -> None:
    (root / ".venv").mkdir()
    (root / ".venv" / ".installed-portable").touch()  # file times only: empty
    assert INSTALLS in dry_run(root)


def test_another_llama_build_reinstalls(root: Path) -> None:
    installed(root)
    out = dry_run(root, KOPICHAT_LLAMA_BUILD="native")
    assert INSTALLS in out
    assert "bash scripts/install-llama.sh .venv native" in out


def test_a_missing_input_stops_the_install_with_one_line(root: Path) -> None:
    (root / "requirements.lock").unlink()
    # For real, not a dry run: the stamp's first step fails before anything is installed.
    done = subprocess.run(
        ["make", "--no-print-directory", ".venv/.installed-portable"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "kopichat: cannot hash" in done.stdout + done.stderr
    assert INSTALLS not in done.stdout
    assert not (root / ".venv").exists()


def test_targets_that_install_nothing_run_without_the_install_inputs(root: Path) -> None:
    (root / "pyproject.toml").unlink()
    done = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "make run" in done.stdout
