"""Cold start: a fresh Python process, to the first 200 from the Lambda (Mangum) handler.

Configured as on Lambda: `KOPICHAT_MODEL=openai:gpt-4o-mini` against the OpenAI-compatible mock
on loopback, MariaDB as the database; the event is an API Gateway HTTP API (payload 2.0) POST
/api/chat that opens a conversation. A second run with `python -X importtime` gives the
breakdown of the import work. The reference handler (`bench.reference_lambda`: FastAPI +
Mangum + langchain-openai, nothing else) gets the same event and the same measurement, run
alternately with Kopichat's: `cold_start_ratio` is Kopichat's median over its median.

`measure_image_cold_start` does the same from the Lambda image's own file layout
(/var/task, built from the Dockerfile's steps by tests/deploy/lambda_asset.py), once as built
(with precompiled bytecode) and once with every __pycache__ removed, alternating, with
PYTHONDONTWRITEBYTECODE=1 and nothing but the layout on sys.path (`python -S`): as on Lambda,
where /var/task is read-only and nothing compiled at one start is kept for the next.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import ROOT, kopichat_root

# Runs in the fresh process. It measures its own import and first-request time; the parent
# measures from spawning it.
_CHILD = """
import time
started = time.perf_counter()
import json, os, sys
event = json.loads(os.environ["BENCH_EVENT"])
handler = __import__(os.environ["BENCH_HANDLER"], fromlist=["handler"]).handler
imported = time.perf_counter()
class Context:
    aws_request_id = "bench"
    def get_remaining_time_in_millis(self):
        return 28000
result = handler(event, Context())
answered = time.perf_counter()
print("BENCH " + json.dumps({"status": result["statusCode"], "import_s": imported - started,
                  "request_s": answered - imported}), flush=True)
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


@dataclass(frozen=True, slots=True)
class Imported:
    module: str
    self_ms: float
    cumulative_ms: float
    depth: int


KOPICHAT_HANDLER = "api.lambda_handler"
REFERENCE_HANDLER = "bench.reference_lambda"
# What only traces need: none of it may load while no OTLP endpoint is set
# (tests/integration/test_lambda_cold_imports.py holds the same).
TRACING_ONLY = (
    "agent.adapters.otel",
    "api.tracing",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "opentelemetry.proto",
    "opentelemetry.sdk.trace.export",
    "google.protobuf",
)


def _is_tracing_only(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in TRACING_ONLY)


@dataclass
class ColdStart:
    runs_s: list[float] = field(default_factory=list)
    reference_runs_s: list[float] = field(default_factory=list)
    import_s: list[float] = field(default_factory=list)
    request_s: list[float] = field(default_factory=list)
    imports: list[Imported] = field(default_factory=list)
    # One more `-X importtime` run with OTEL_EXPORTER_OTLP_ENDPOINT set (a receiver on
    # loopback), and the first request's time of both importtime runs.
    traced_imports: list[Imported] = field(default_factory=list)
    untraced_request_s: float = math.nan
    traced_request_s: float = math.nan

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def reference_median_s(self) -> float:
        return statistics.median(self.reference_runs_s) if self.reference_runs_s else math.nan

    @property
    def ratio(self) -> float:
        """Kopichat's median cold start over the reference handler's."""
        return self.median_s / self.reference_median_s

    def top_level(self, n: int = 10) -> list[Imported]:
        """The imports the entry point triggered directly, heaviest (cumulative) first."""
        roots = [i for i in self.imports if i.depth == 0]
        return sorted(roots, key=lambda i: i.cumulative_ms, reverse=True)[:n]

    def by_package(self, n: int = 12) -> list[tuple[str, float]]:
        """Self time summed per top-level package, heaviest first."""
        totals: dict[str, float] = defaultdict(float)
        for item in self.imports:
            totals[item.module.split(".")[0]] += item.self_ms
        return sorted(totals.items(), key=lambda pair: pair[1], reverse=True)[:n]

    @property
    def import_total_ms(self) -> float:
        return sum(i.self_ms for i in self.imports)

    @staticmethod
    def tracing_only(imports: list[Imported]) -> list[Imported]:
        return [i for i in imports if _is_tracing_only(i.module)]

    @staticmethod
    def opentelemetry_ms(imports: list[Imported]) -> float:
        return sum(i.self_ms for i in imports if i.module.split(".")[0] == "opentelemetry")


def lambda_event() -> dict[str, object]:
    from tests.deploy.lambda_events import build_event

    return build_event(
        "http_v2",
        "POST",
        "/api/chat",
        {"conversation_id": None, "message": "Convince me that remote work beats the office."},
    )


def _env(
    database_url: str, openai_base_url: str, handler: str = KOPICHAT_HANDLER
) -> dict[str, str]:
    # No OTEL_ variable either: the cold start is measured with tracing off, the default.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOPICHAT_", "OPENAI_", "OTEL_"))
    }
    env |= {
        "KOPICHAT_MODEL": "openai:gpt-4o-mini",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_base_url,
        "DATABASE_URL": database_url,
        "BENCH_EVENT": json.dumps(lambda_event()),
        "BENCH_HANDLER": handler,
        # The reference lives with the benchmark; Kopichat may run from another checkout.
        "PYTHONPATH": str(kopichat_root() if handler == KOPICHAT_HANDLER else ROOT),
    }
    return env


def _run_child(
    env: dict[str, str], *, importtime: bool, isolated_in: Path | None = None
) -> tuple[float, dict[str, float], str]:
    # isolated_in: no site-packages (-S) and run from that directory (`-c` puts the working
    # directory first on sys.path), so only what PYTHONPATH names is importable.
    flags = [*(["-X", "importtime"] if importtime else []), *(["-S"] if isolated_in else [])]
    argv = [sys.executable, *flags, "-c", _CHILD]
    # `-c` puts the working directory first on sys.path: the checkout the handler comes from.
    cwd = isolated_in or Path(env["PYTHONPATH"].split(os.pathsep)[0])
    env = {**env, "BENCH_EVENT": json.dumps(_arrived_now(json.loads(env["BENCH_EVENT"])))}
    # stderr goes to a file: -X importtime writes more than a pipe buffer holds.
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert process.stdout is not None
        # The service logs JSON lines on stdout too: the child's own line is marked.
        line = ""
        for candidate in process.stdout:
            if candidate.startswith("BENCH "):
                line = candidate.removeprefix("BENCH ")
                break
        elapsed = time.perf_counter() - started
        process.communicate(timeout=60)
        errors.seek(0)
        stderr = errors.read()
    if not line.strip():
        raise RuntimeError(f"cold-start child failed:\n{stderr[-3000:]}")
    report: dict[str, float] = json.loads(line)
    if report["status"] != 200:
        raise RuntimeError(f"cold-start child got {report['status']}:\n{stderr[-3000:]}")
    return elapsed, report, stderr


def _arrived_now(event: dict[str, Any]) -> dict[str, Any]:
    """The event as if API Gateway received it now: the handler counts the turn's budget from
    the arrival time, and a cold start begins after the request arrived."""
    context = event["requestContext"]
    key = "requestTimeEpoch" if "requestTimeEpoch" in context else "timeEpoch"
    context[key] = int(time.time() * 1000)
    return event


def parse_importtime(stderr: str) -> list[Imported]:
    found: list[Imported] = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            found.append(
                Imported(module, int(self_us) / 1000, int(cumulative_us) / 1000, len(indent) // 2)
            )
    return found


def measure_cold_start(database_url: str, openai_base_url: str, runs: int) -> ColdStart:
    env = _env(database_url, openai_base_url)
    reference_env = _env(database_url, openai_base_url, REFERENCE_HANDLER)
    result = ColdStart()
    for _ in range(runs):  # alternating, so a slower moment of the machine hits both
        elapsed, report, _stderr = _run_child(env, importtime=False)
        result.runs_s.append(elapsed)
        result.import_s.append(report["import_s"])
        result.request_s.append(report["request_s"])
        elapsed, _report, _stderr = _run_child(reference_env, importtime=False)
        result.reference_runs_s.append(elapsed)
    _elapsed, report, stderr = _run_child(env, importtime=True)
    result.imports = parse_importtime(stderr)
    result.untraced_request_s = report["request_s"]
    from tests.otlp_receiver import otlp_receiver

    with otlp_receiver() as receiver:
        traced = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        _elapsed, report, stderr = _run_child(traced, importtime=True)
    result.traced_imports = parse_importtime(stderr)
    result.traced_request_s = report["request_s"]
    return result


@dataclass
class ImageColdStart:
    """Cold starts from the image's /var/task layout, with and without its bytecode."""

    with_bytecode_s: list[float] = field(default_factory=list)
    without_bytecode_s: list[float] = field(default_factory=list)
    with_import_s: list[float] = field(default_factory=list)
    without_import_s: list[float] = field(default_factory=list)

    @property
    def with_median_s(self) -> float:
        return statistics.median(self.with_bytecode_s)

    @property
    def without_median_s(self) -> float:
        return statistics.median(self.without_bytecode_s)

    @property
    def speedup(self) -> float:
        """How many times longer a cold start takes without the bytecode."""
        return self.without_median_s / self.with_median_s


def measure_image_cold_start(
    database_url: str, openai_base_url: str, runs: int, work: Path
) -> ImageColdStart:
    from tests.deploy.lambda_asset import build_lambda_asset, handler_env, without_bytecode

    built = build_lambda_asset(work / "image")
    bare = without_bytecode(built, work / "image-without-bytecode")
    settings = {k: v for k, v in _env(database_url, openai_base_url).items() if k != "PYTHONPATH"}
    wanted = ("KOPICHAT_", "OPENAI_", "DATABASE_URL", "BENCH_EVENT", "BENCH_HANDLER")
    settings = {k: v for k, v in settings.items() if k.startswith(wanted)}
    result = ImageColdStart()
    for _ in range(runs):  # alternating, so a slower moment of the machine hits both
        for layout, totals, imports in (
            (built, result.with_bytecode_s, result.with_import_s),
            (bare, result.without_bytecode_s, result.without_import_s),
        ):
            env = handler_env(layout, **settings)
            elapsed, report, _stderr = _run_child(env, importtime=False, isolated_in=work)
            totals.append(elapsed)
            imports.append(report["import_s"])
    return result
