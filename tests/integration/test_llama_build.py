"""The installed llama.cpp carries nothing beyond the portable build's instruction-set baseline
(x86-64-v3: AVX2, FMA, F16C, BMI2; see scripts/install-llama.sh), so the same build runs on any
CPU a machine of ours may have. A native build (KOPICHAT_LLAMA_BUILD=native) is skipped."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.adapters.local_model_check import check_offline_model, installed_build

pytestmark = pytest.mark.slow

# What llama.cpp reports about how it was compiled, on the portable build: nothing else may be on.
PORTABLE_FEATURES = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
BUILD_OPTIONS = {"LLAMAFILE", "OPENMP", "REPACK"}  # not instruction sets
# Registers and instructions of the extensions the baseline leaves out: AVX-512 (zmm, mask
# registers, ymm16-31 under EVEX), AMX tiles, and the VNNI dot products.
BEYOND_BASELINE = re.compile(
    r"%zmm\d|%k[0-7]\b|%tmm\d|%[xy]mm(?:1[6-9]|2\d|3[01])\b|\bvpdp(?:bu|ws)sds?\b"
)


def _portable_x86() -> None:
    build = installed_build()
    if build.startswith("native"):
        pytest.skip(f"this .venv holds a native build ({build}), chosen with KOPICHAT_LLAMA_BUILD")
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the baseline checked here is x86-64's")


def _compiled_features() -> dict[str, bool]:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    return {name: value == "1" for name, value in re.findall(r"(\w+) = (\d)", info)}


def test_llama_cpp_reports_only_baseline_instruction_sets() -> None:
    _portable_x86()
    features = _compiled_features()
    on = {name for name, enabled in features.items() if enabled}
    assert {"AVX2", "FMA", "F16C"} <= on, features
    assert on - PORTABLE_FEATURES - BUILD_OPTIONS == set(), features


def test_the_shared_libraries_hold_no_avx512_amx_or_vnni_instruction() -> None:
    _portable_x86()
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    import llama_cpp

    libraries = sorted((Path(llama_cpp.__file__).parent / "lib").glob("*.so"))
    assert libraries, "llama_cpp ships no shared libraries?"
    found: dict[str, list[str]] = {}
    ymm_seen = False
    for library in libraries:
        listing = subprocess.run(
            [objdump, "-d", "--no-show-raw-insn", str(library)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        ymm_seen = ymm_seen or "%ymm" in listing
        hits = [line.strip() for line in listing.splitlines() if BEYOND_BASELINE.search(line)]
        if hits:
            found[library.name] = hits[:3]
    assert ymm_seen, "no AVX2 code at all: the check would see nothing"
    assert found == {}


def test_the_offline_model_generates_in_a_child_process() -> None:
    assert check_offline_model() > 0
