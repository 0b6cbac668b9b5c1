"""`python -m bench [--quick]`: Kopichat against the plain LangChain baseline, side by side.

Full: writes docs/benchmarks.md and docs/benchmarks-latency.png. Quick (under 60 s): prints, and
keeps a copy under bench/results/ (git-ignored). Either way the last stdout line is one JSON
object with the headline numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.cold_start import ImageColdStart, measure_cold_start, measure_image_cold_start
from bench.db import DEFAULT_ADMIN_URL, Databases, RowCounter, bench_databases, server_version
from bench.load import Target, run_phase
from bench.long_message import LongMessages, measure_long_messages
from bench.offline_builds import OfflineResults, measure_builds
from bench.profile import run_profiles
from bench.report import LENGTHS, REFERENCE_LENGTH, Machine, Results, plot, text_report
from bench.seed import seed_baseline, seed_kopichat
from bench.servers import (
    ROOT,
    Server,
    free_port,
    kopichat_env,
    kopichat_root,
    running,
    start,
)
from bench.tokens import measure_prompt_sizes
from tests.openai_mock import mock_openai

_T0 = time.monotonic()


def _log(message: str) -> None:
    print(f"bench: [{time.monotonic() - _T0:5.1f} s] {message}", file=sys.stderr, flush=True)


def _prepare_targets(
    databases: Databases, conversations: int, log_dir: Path
) -> tuple[list[Server], list[Target]]:
    """One Kopichat and one baseline server per length, each on its own fresh database."""
    from agent.adapters.sql.engine import make_engine
    from agent.migrate import migrate
    from bench.baseline_app import create_table

    servers: list[Server] = []
    targets: list[Target] = []
    # The reference (a turn's database work alone), at the length overhead_ratio reads.
    reference_url = databases.create(f"r{REFERENCE_LENGTH}")
    migrate(reference_url)
    seeded_r = seed_kopichat(reference_url, conversations, REFERENCE_LENGTH)
    r_server = start(
        f"reference-{REFERENCE_LENGTH}",
        "bench.reference_app",
        kopichat_env(reference_url, free_port()),
        log_dir,
    )
    servers.append(r_server)
    targets.append(
        Target("reference", r_server.base_url, seeded_r, "SELECT COUNT(*) FROM messages")
    )
    for length in LENGTHS:
        kopichat_url = databases.create(f"k{length}")
        migrate(kopichat_url)
        baseline_url = databases.create(f"b{length}")
        engine = make_engine(baseline_url)
        create_table(engine)
        engine.dispose()
        seeded_k = seed_kopichat(kopichat_url, conversations, length)
        seeded_b = seed_baseline(baseline_url, conversations, length)
        k_server = start(
            f"kopichat-{length}",
            "api",
            kopichat_env(kopichat_url, free_port()),
            log_dir,
            kopichat_root(),
        )
        b_server = start(
            f"baseline-{length}",
            "bench.baseline_app",
            kopichat_env(baseline_url, free_port()),
            log_dir,
        )
        servers += [k_server, b_server]
        targets.append(
            Target("kopichat", k_server.base_url, seeded_k, "SELECT COUNT(*) FROM messages")
        )
        targets.append(
            Target("baseline", b_server.base_url, seeded_b, "SELECT COUNT(*) FROM message_store")
        )
    return servers, targets


def run(quick: bool, admin_url: str, command: str) -> Results:
    started = time.monotonic()
    conversations = 32
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = Machine.describe(server_version(admin_url))

    _log("prompt sizes (in-process, 200 turns per app)")
    prompt_sizes = measure_prompt_sizes()
    notes: list[str] = []
    image_cold: ImageColdStart | None = None

    with bench_databases(admin_url) as databases, tempfile.TemporaryDirectory() as tmp:
        from agent.migrate import migrate

        cold_url = databases.create("cold")
        migrate(cold_url)
        _log("cold start (nothing else running)")
        with mock_openai() as openai_mock:
            cold = measure_cold_start(cold_url, openai_mock.base_url, runs=3 if quick else 7)
            if os.environ.get("KOPICHAT_BENCH_SKIP_IMAGE") == "1":
                notes.append("image cold start not measured (KOPICHAT_BENCH_SKIP_IMAGE=1)")
            else:
                _log("cold start from the Lambda image's layout, with and without bytecode")
                try:
                    image_cold = measure_image_cold_start(
                        cold_url, openai_mock.base_url, 3 if quick else 7, Path(tmp) / "lambda"
                    )
                except Exception as exc:  # the layout's install needs the package registry
                    notes.append(f"image cold start not measured ({type(exc).__name__}: {exc})")

        _log(f"seeding {conversations} conversations per app and length; starting 7 servers")
        servers, targets = _prepare_targets(databases, conversations, Path(tmp))
        counter = RowCounter(admin_url)
        try:
            with running(servers):
                cells = []
                for concurrency, rounds, warmup in (
                    ((1, 2, 1), (16, 3, 0))
                    if quick
                    else (
                        (1, 10, 1),
                        (16, 16, 1),
                    )
                ):
                    _log(f"load: concurrency {concurrency}, {rounds} rounds of every cell")
                    cells += asyncio.run(
                        run_phase(
                            targets,
                            concurrency,
                            min_rounds=rounds,
                            max_rounds=rounds,
                            budget_s=0,
                            counter=counter,
                            warmup_rounds=warmup,
                            warmup_turns=16 if quick else 0,
                        )
                    )
        finally:
            counter.close()

    profiles = []
    if not quick:
        _log("profile of a turn, by layer (py-spy on the server)")
        profiles = run_profiles(admin_url)
    offline: OfflineResults | None = None
    long_messages: LongMessages | None = None
    if kopichat_root() != ROOT:
        notes.append(f"Kopichat ran from {kopichat_root()} (KOPICHAT_BENCH_KOPICHAT_ROOT)")
    if os.environ.get("KOPICHAT_BENCH_SKIP_OFFLINE") != "1":
        offline = measure_builds(quick, _log)
        long_messages = measure_long_messages(quick, _log)
        if long_messages is None:
            notes.append("long messages not measured: their child process failed (see the log)")

    return Results(
        quick=quick,
        command=command,
        started_at=started_at,
        machine=machine,
        conversations=conversations,
        cells=cells,
        prompt_sizes=prompt_sizes,
        cold_start=cold,
        offline=offline,
        wall_s=time.monotonic() - started,
        notes=notes,
        image_cold_start=image_cold,
        long_messages=long_messages,
        profiles=profiles,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer turns per cell; < 60 s")
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("KOPICHAT_BENCH_MYSQL_URL", DEFAULT_ADMIN_URL),
        help="server to create the throw-away databases on (default: %(default)s)",
    )
    parser.add_argument(
        "--docs", type=Path, default=ROOT / "docs", help="where the full run writes its report"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    command = "make bench-quick" if args.quick else "make bench"

    results = run(args.quick, args.mysql_url, command)
    from bench.markdown import write_markdown

    print(text_report(results), flush=True)
    if args.quick:
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        plot(results, out_dir / f"quick-{stamp}.png")
        write_markdown(results, out_dir / f"quick-{stamp}.md", f"quick-{stamp}.png")
    else:
        args.docs.mkdir(parents=True, exist_ok=True)
        plot(results, args.docs / "benchmarks-latency.png")
        write_markdown(results, args.docs / "benchmarks.md", "benchmarks-latency.png")
        _log(f"wrote {args.docs / 'benchmarks.md'}")
    print(json.dumps(results.metrics()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
