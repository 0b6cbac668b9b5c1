"""Can the offline model run on this CPU? Asked in a child process, so that a native crash (a
llama.cpp build that uses instructions this CPU lacks) ends the child, not the caller.

Used twice: by `make install` right after the build (`python -m agent.adapters.local_model_check`
prints one line and exits 1 on failure), and by the service before it loads the offline model, so
that a broken build stops the service at start with a clear message instead of killing it on the
first request.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from agent.errors import ConfigError

CHECK_TIMEOUT_S = 120.0
# The instruction-set baseline of the portable build (scripts/install-llama.sh), as /proc/cpuinfo
# names it.
PORTABLE_BASELINE = ("avx", "avx2", "fma", "f16c", "bmi2", "sse4_2")


def _generate_a_few_tokens() -> None:
    """The child's work: load the model as the service does and generate a few tokens."""
    from agent.adapters.local_model import import_llama_cpp, smollm2_path

    llama = import_llama_cpp().Llama(
        model_path=str(smollm2_path()), n_ctx=256, rope_freq_base=0.0, verbose=False, seed=1
    )
    llama.create_completion(
        prompt="<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n",
        max_tokens=4,
        temperature=0.0,
    )
    print("ok")


def _missing_cpu_features() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []  # not Linux: nothing to say
    flags_line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    flags = set(flags_line.partition(":")[2].split())
    if not flags:
        return []
    return [feature for feature in PORTABLE_BASELINE if feature not in flags]


def installed_build() -> str:
    """'portable <version>' or 'native <version>' as `make install` recorded it, else ''."""
    try:
        return (Path(sys.prefix) / ".llama-build").read_text().strip()
    except OSError:
        return ""


def _advice() -> str:
    missing = _missing_cpu_features()
    if missing:
        return (
            f"this CPU lacks {', '.join(missing)}, which the portable build needs; "
            "use OPENAI_API_KEY (or KOPICHAT_MODEL=fake) instead of the offline model"
        )
    if installed_build().startswith("native"):
        return "unset KOPICHAT_LLAMA_BUILD and run `make install` for the portable build"
    return (
        "rebuild it for any CPU with `make clean install` (portable build), "
        "or use OPENAI_API_KEY or KOPICHAT_MODEL=fake"
    )


def check_offline_model(timeout_s: float = CHECK_TIMEOUT_S) -> float:
    """Load the model and generate a few tokens in a child process; return the seconds it took.

    Raises ConfigError, one line saying what happened and what to do, if the child crashes,
    fails or hangs."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agent.adapters.local_model_check", "--child"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"KOPICHAT_MODEL=local: the offline model did not answer a test prompt within "
            f"{timeout_s:.0f} s; {_advice()}"
        ) from None
    if done.returncode == 0 and done.stdout.startswith("ok"):
        return time.perf_counter() - started
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        what = f"crashed ({name}) while generating its first tokens"
    else:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        what = f"failed a test prompt ({lines[-1].strip() if lines else 'no output'})"
    raise ConfigError(f"KOPICHAT_MODEL=local: the offline model {what}; {_advice()}")


def main(argv: list[str]) -> int:
    if argv[1:] == ["--child"]:
        _generate_a_few_tokens()
        return 0
    try:
        seconds = check_offline_model()
    except ConfigError as exc:
        print(f"kopichat: {exc}", file=sys.stderr)
        return 1
    print(f"kopichat: the offline model loads and generates on this CPU ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
