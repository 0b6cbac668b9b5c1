"""`python -m bench.loadtest` (`make load`): Kopichat under load on loopback.

Starts a throw-away MariaDB database and the server (fake model, so the numbers are
Kopichat's and MariaDB's, not a model's), runs locust headless with 32 users for 60 s, and
prints throughput, p50/p99 and every status seen, and requests per second per core of the
server process: requests over the CPU time the server itself used (user + system, read from
/proc before and after the run), so that runs on different machines compare.
KOPICHAT_BENCH_KOPICHAT_ROOT runs the server from another checkout (as for `make bench`).
Exits 1 if any response was not 200, 409 or 429 (a connection error counts as a failure too).
The whole run is bounded: locust stops itself after the duration, and a hard timeout ends it
if it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from agent.migrate import migrate
from bench.db import DEFAULT_ADMIN_URL, bench_databases
from bench.servers import (
    ROOT,
    free_port,
    kopichat_env,
    kopichat_root,
    process_cpu_s,
    running,
    start,
)

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
EXPECTED = {"200", "409", "429"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))
    return ordered[rank]


def report(
    result: dict[str, object], users: int, seconds: int, server_cpu_s: float
) -> tuple[str, bool]:
    statuses: dict[str, int] = result["statuses"]  # type: ignore[assignment]
    latencies: dict[str, list[float]] = result["latencies_ms"]  # type: ignore[assignment]
    duration = float(result["duration_s"]) or float(seconds)  # type: ignore[arg-type]
    total = sum(statuses.values())
    ok = [v for name, values in latencies.items() if name.endswith(" 200") for v in values]
    lines = [
        f"Kopichat load run: {users} users, {seconds} s, fake model, MariaDB, loopback",
        f"requests: {total} in {duration:.1f} s = {total / duration:.0f} requests/s "
        f"({len(ok) / duration:.0f}/s answered 200)",
        f"latency of 200s: p50 {percentile(ok, 0.5):.1f} ms, p99 {percentile(ok, 0.99):.1f} ms",
        f"server CPU: {server_cpu_s:.1f} s = {total / server_cpu_s:.0f} requests/s per core "
        f"({server_cpu_s / total * 1000:.2f} ms of CPU per request)"
        if server_cpu_s > 0
        else "server CPU: not measured",
        "by status: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
        "",
        f"{'request':<42} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for name in sorted(latencies):
        values = latencies[name]
        lines.append(
            f"{name:<42} {len(values):>7} {percentile(values, 0.5):>8.1f} "
            f"{percentile(values, 0.99):>8.1f}"
        )
    unexpected = {s: n for s, n in statuses.items() if s not in EXPECTED}
    if unexpected:
        lines.append(f"FAILED: statuses outside 200/409/429: {unexpected}")
    return "\n".join(lines), not unexpected


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    admin_url = os.environ.get("KOPICHAT_TEST_MYSQL_URL", DEFAULT_ADMIN_URL)
    with (
        tempfile.TemporaryDirectory(prefix="kopichat-load-") as tmp,
        bench_databases(admin_url) as databases,
    ):
        url = databases.create("load")
        migrate(url)
        port = free_port()
        server = start("kopichat", "api", kopichat_env(url, port), Path(tmp), kopichat_root())
        result_path = Path(tmp) / "result.json"
        with running([server]):
            cpu_before = process_cpu_s(server.process.pid)
            locust = subprocess.run(
                [
                    str(Path(sys.executable).with_name("locust")),
                    "-f",
                    str(LOCUSTFILE),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.users),
                    "--run-time",
                    f"{args.seconds}s",
                    "--stop-timeout",
                    "5",
                    "--host",
                    server.base_url,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    "--exit-code-on-error",
                    "0",
                ],
                cwd=ROOT,
                env={**os.environ, "KOPICHAT_LOAD_RESULT": str(result_path)},
                capture_output=True,
                text=True,
                timeout=args.seconds + 90,  # a hang guard, never reached on a normal run
                check=False,
            )
            server_cpu_s = process_cpu_s(server.process.pid) - cpu_before
        if locust.returncode != 0 or not result_path.exists():
            print(locust.stdout[-3000:], locust.stderr[-3000:], sep="\n", file=sys.stderr)
            print("kopichat: the load run did not finish", file=sys.stderr)
            return 1
        text, passed = report(
            json.loads(result_path.read_text()), args.users, args.seconds, server_cpu_s
        )
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
