"""The results: the six headline numbers, a text table for stdout, docs/benchmarks.md, the PNG."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench import offline_report
from bench.cold_start import ColdStart, ImageColdStart
from bench.load import Cell
from bench.long_message import TARGET_P95_S, LongMessages
from bench.offline_builds import OfflineResults
from bench.profile import Profile, text_table
from bench.tokens import CHECKPOINTS, PromptSize

LENGTHS = (10, 200, 1000)
CONCURRENCY = (1, 16)
APPS = ("kopichat", "baseline")
# The reference app (bench/reference_app.py) runs at this length only: overhead_ratio's.
REFERENCE_LENGTH = 200

# name -> (comparison, limit). Ratios against apps run in the same run, so that machines
# compare; the absolute figures are printed for information.
TARGETS: dict[str, tuple[str, float]] = {
    "throughput_ratio": (">=", 30.0),
    "overhead_ratio": ("<=", 1.5),
    "cold_start_ratio": ("<=", 1.3),
    "growth_ratio": ("<=", 1.2),
    "token_growth_ratio": ("<=", 1.5),
    "offline_reply_p50_s": ("<=", offline_report.REPLY_TARGET_S),
    "offline_first_token_http_p50_s": ("<=", offline_report.FIRST_TOKEN_TARGET_S),
    "long_message_p95_s": ("<=", TARGET_P95_S),
}
_PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "sqlalchemy",
    "pymysql",
    "langchain-core",
    "langchain-openai",
    "langchain-community",
    "openai",
    "mangum",
    "httpx",
    "llama-cpp-python",
)


# /proc/cpuinfo flag -> how the machine line names it, widest first.
_VECTOR_FLAGS = (
    ("amx_tile", "AVX-512 and AMX"),
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2, no AVX-512"),
)


@dataclass(frozen=True, slots=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    os: str
    python: str
    mariadb: str
    packages: dict[str, str]

    @staticmethod
    def describe(mariadb: str) -> Machine:
        cpu = platform.processor() or "?"
        # A VM often names only "AMD EPYC" or "Intel Xeon": family, model and the widest vector
        # instructions tell runs on different machines apart.
        fields: dict[str, str] = {}
        for line in _read_lines("/proc/cpuinfo"):
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            flags = set(fields.get("flags", "").split())
            widest = next((name for flag, name in _VECTOR_FLAGS if flag in flags), "no AVX2")
            cpu = (
                f"{fields['model name']} (family {fields.get('cpu family', '?')}, "
                f"model {fields.get('model', '?')}; {widest})"
            )
        memory = 0.0
        for line in _read_lines("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
        os_name = platform.platform()
        for line in _read_lines("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
        packages: dict[str, str] = {}
        for name in _PACKAGES:
            try:
                packages[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return Machine(
            cpu, os.cpu_count() or 0, memory, os_name, platform.python_version(), mariadb, packages
        )


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


@dataclass
class Results:
    quick: bool
    command: str
    started_at: str
    machine: Machine
    conversations: int  # seeded per (app, length)
    cells: list[Cell]
    prompt_sizes: list[PromptSize]
    cold_start: ColdStart
    offline: OfflineResults | None
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    image_cold_start: ImageColdStart | None = None
    long_messages: LongMessages | None = None
    profiles: list[Profile] = field(default_factory=list)

    def cell(self, app: str, length: int, concurrency: int) -> Cell:
        for cell in self.cells:
            if (cell.app, cell.length, cell.concurrency) == (app, length, concurrency):
                return cell
        raise KeyError((app, length, concurrency))

    def prompt_size(self, app: str) -> PromptSize:
        return next(size for size in self.prompt_sizes if size.app == app)

    def metrics(self) -> dict[str, float]:
        def p50(app: str, length: int) -> float:
            return self.cell(app, length, 1).percentile_ms(50)

        kopichat_tp = self.cell("kopichat", 1000, 16).throughput
        baseline_tp = self.cell("baseline", 1000, 16).throughput
        values = {
            "throughput_ratio": kopichat_tp / baseline_tp if baseline_tp else math.inf,
            "growth_ratio": p50("kopichat", 1000) / p50("kopichat", 10),
            "baseline_growth_ratio": p50("baseline", 1000) / p50("baseline", 10),
            "token_growth_ratio": self.prompt_size("kopichat").growth,
            "overhead_ratio": p50("kopichat", REFERENCE_LENGTH)
            / p50("reference", REFERENCE_LENGTH),
            "overhead_p50_ms": p50("kopichat", REFERENCE_LENGTH),
            "reference_p50_ms": p50("reference", REFERENCE_LENGTH),
            "cold_start_ratio": self.cold_start.ratio,
            "cold_start_s": self.cold_start.median_s,
            "reference_cold_start_s": self.cold_start.reference_median_s,
        }
        if self.image_cold_start is not None:
            values["image_cold_start_s"] = self.image_cold_start.with_median_s
            values["image_cold_start_no_bytecode_s"] = self.image_cold_start.without_median_s
        rounded = {name: round(value, 3) for name, value in values.items()}
        if self.offline is not None:
            rounded |= offline_report.metrics(self.offline)
        if self.long_messages is not None:
            rounded |= self.long_messages.metrics()
        return rounded

    def verdicts(self) -> dict[str, bool]:
        metrics = self.metrics()
        return {
            name: (metrics[name] >= limit if op == ">=" else metrics[name] <= limit)
            for name, (op, limit) in TARGETS.items()
            if name in metrics
        }


def _f(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _latency_rows(results: Results) -> list[list[str]]:
    rows: list[list[str]] = []
    for concurrency in CONCURRENCY:
        for length in LENGTHS:
            kopichat = results.cell("kopichat", length, concurrency)
            baseline = results.cell("baseline", length, concurrency)
            shown = [kopichat, baseline]
            if length == REFERENCE_LENGTH:
                shown.append(results.cell("reference", length, concurrency))
            for cell in shown:
                is_k = cell is kopichat
                rows.append(
                    [
                        str(concurrency),
                        str(length),
                        _APP_NAMES[cell.app],
                        _f(cell.percentile_ms(50), 2),
                        _f(cell.percentile_ms(99), 2),
                        _f(cell.throughput, 0),
                        _f(cell.rows_per_turn, 0),
                        f"{len(cell.latencies_s)}"
                        + (f" ({cell.errors} failed)" if cell.errors else ""),
                        "yes" if cell.length_checked and not cell.errors else "NO",
                        (
                            f"{baseline.percentile_ms(50) / kopichat.percentile_ms(50):.1f}x / "
                            f"{kopichat.throughput / baseline.throughput:.1f}x"
                            if is_k and baseline.throughput
                            else ""
                        ),
                    ]
                )
    return rows


_APP_NAMES = {"kopichat": "Kopichat", "baseline": "baseline", "reference": "reference"}

_LATENCY_HEADER = [
    "conc.",
    "messages",
    "app",
    "p50 ms",
    "p99 ms",
    "turns/s",
    "rows read/turn",
    "turns",
    "length exact",
    "Kopichat vs baseline: p50 / turns/s",
]


def _text_grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _md_grid(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _target_rows(results: Results) -> list[list[str]]:
    metrics, verdicts = results.metrics(), results.verdicts()
    rows = []
    for name, value in metrics.items():
        if name in TARGETS:
            op, limit = TARGETS[name]
            rows.append(
                [name, f"{value:g}", f"{op} {limit:g}", "met" if verdicts[name] else "MISSED"]
            )
        else:
            rows.append([name, f"{value:g}", "(for comparison)", ""])
    return rows


def _prompt_rows(results: Results) -> list[list[str]]:
    first, last = CHECKPOINTS
    rows = []
    for size in results.prompt_sizes:
        rows.append(
            [
                "Kopichat" if size.app == "kopichat" else "baseline",
                f"{size.tokens[first]:,} ({size.messages[first]} messages)",
                f"{size.tokens[last]:,} ({size.messages[last]} messages)",
                f"{size.growth:.2f}",
            ]
        )
    return rows


_PROMPT_HEADER = [
    "app",
    f"tokens at turn {CHECKPOINTS[0]}",
    f"tokens at turn {CHECKPOINTS[1]}",
    "growth",
]


def _cold_rows(results: Results) -> list[list[str]]:
    cold = results.cold_start
    return [
        [
            _f(cold.median_s, 3),
            ", ".join(f"{s:.3f}" for s in cold.runs_s),
            _f(sorted(cold.import_s)[len(cold.import_s) // 2], 3),
            _f(sorted(cold.request_s)[len(cold.request_s) // 2] * 1000, 0),
            _f(cold.reference_median_s, 3),
            ", ".join(f"{s:.3f}" for s in cold.reference_runs_s),
        ]
    ]


_COLD_HEADER = [
    "median s",
    "runs s",
    "import + build s",
    "first request ms",
    "reference median s",
    "reference runs s",
]


def _image_cold_rows(image: ImageColdStart) -> list[list[str]]:
    def row(label: str, runs: list[float], imports: list[float]) -> list[str]:
        return [
            label,
            _f(sorted(runs)[len(runs) // 2], 3),
            ", ".join(f"{s:.3f}" for s in runs),
            _f(sorted(imports)[len(imports) // 2], 3),
        ]

    return [
        row("as built (bytecode)", image.with_bytecode_s, image.with_import_s),
        row("no __pycache__", image.without_bytecode_s, image.without_import_s),
    ]


_IMAGE_COLD_HEADER = ["/var/task layout", "median s", "runs s", "import + build s"]


def _import_rows(results: Results) -> list[list[str]]:
    return [[name, _f(ms, 0)] for name, ms in results.cold_start.by_package(12)]


def text_report(results: Results) -> str:
    parts = [
        f"Kopichat vs the LangChain baseline ({'quick' if results.quick else 'full'} run, "
        f"{results.wall_s:.0f} s, {results.conversations} conversations per app and length)",
        "",
        "Per turn over HTTP (uvicorn), instant fake model, MariaDB:",
        _text_grid(_LATENCY_HEADER, _latency_rows(results)),
        "",
        "Prompt size (approximate tokens sent to the model):",
        _text_grid(_PROMPT_HEADER, _prompt_rows(results)),
        "",
        "Cold start (fresh process to first 200 from the Mangum handler, openai provider on a "
        "loopback mock):",
        _text_grid(_COLD_HEADER, _cold_rows(results)),
        "Import self time by package (python -X importtime), ms:",
        _text_grid(["package", "ms"], _import_rows(results)),
        "",
    ]
    if results.image_cold_start is not None:
        parts += [
            "Cold start from the Lambda image's /var/task layout, with and without bytecode "
            f"({results.image_cold_start.speedup:.2f}x):",
            _text_grid(_IMAGE_COLD_HEADER, _image_cold_rows(results.image_cold_start)),
            "",
        ]
    if results.offline is not None:
        parts += [
            "Offline model (SmolLM2-135M, llama.cpp, in-process), per llama.cpp build:",
            _text_grid(offline_report.MODEL_HEADER, offline_report.model_rows(results.offline)),
            "Offline model over HTTP (uvicorn, SQLite), full turns:",
            _text_grid(offline_report.HTTP_HEADER, offline_report.http_rows(results.offline)),
            "",
        ]
        parts += [f"note: {note}" for note in results.offline.notes]
    if results.long_messages is not None:
        parts += results.long_messages.report(_text_grid)
    if results.profiles:
        parts += ["Where a turn's CPU time goes (py-spy, by layer):", text_table(results.profiles)]
        parts += [""]
    parts += ["Targets:", _text_grid(["metric", "value", "target", ""], _target_rows(results))]
    parts += [f"note: {note}" for note in results.notes]
    return "\n".join(parts)


def plot(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {
        "kopichat": ("Kopichat", "tab:blue", "o"),
        "baseline": ("LangChain baseline", "tab:red", "s"),
    }
    for app, (label, color, marker) in styles.items():
        cells = [results.cell(app, length, 1) for length in LENGTHS]
        left.plot(
            LENGTHS,
            [c.percentile_ms(50) for c in cells],
            marker=marker,
            color=color,
            label=f"{label} p50",
        )
        left.plot(
            LENGTHS,
            [c.percentile_ms(99) for c in cells],
            marker=marker,
            color=color,
            linestyle="--",
            alpha=0.6,
            label=f"{label} p99",
        )
        busy = [results.cell(app, length, 16) for length in LENGTHS]
        right.plot(LENGTHS, [c.throughput for c in busy], marker=marker, color=color, label=label)
    left.set(
        xscale="log",
        yscale="log",
        xlabel="messages in the conversation",
        ylabel="ms per turn (concurrency 1)",
        title="Per-turn latency over HTTP",
    )
    right.set(
        xscale="log",
        yscale="log",
        xlabel="messages in the conversation",
        ylabel="turns per second (concurrency 16)",
        title="Throughput",
    )
    from matplotlib.ticker import ScalarFormatter

    for axis in (left, right):
        axis.set_xticks(LENGTHS, [str(n) for n in LENGTHS])
        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.yaxis.set_minor_formatter(ScalarFormatter())
        axis.tick_params(axis="y", which="minor", labelsize=7)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle(
        "Kopichat vs RunnableWithMessageHistory + SQLChatMessageHistory (fake model, MariaDB)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
