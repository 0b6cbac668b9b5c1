"""`python -m bench.profile`: where a fake-model turn's CPU time goes, by layer.

Starts Kopichat (`python -m api`, fake model, access log on as in production) on a fresh
MariaDB database with seeded 200-message conversations, and samples the server process with
py-spy (every thread, CPU time only) while a client sends turns: once one at a time, once 32 in
flight. Each sample's stack is put in one layer (see `layer_of`), and the table gives each
layer's share. The benchmark's full run (`make bench`) puts the same table in
docs/benchmarks.md.

Also counts the database round trips per turn from MariaDB's own statement counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.db import DEFAULT_ADMIN_URL, RoundTripCounter, bench_databases
from bench.seed import Seeded, seed_kopichat, user_text
from bench.servers import free_port, kopichat_env, kopichat_root, process_cpu_s, running, start

# (layer, how a frame is recognised: a path fragment of its file, or "file:function").
# The innermost frame of the project (agent/, api/) decides, refined by the libraries it calls;
# frames with no project frame above them belong to the server or the event loop.
LAYERS = (
    "HTTP server (uvicorn, httptools)",
    "framework (Starlette routing, FastAPI dependencies)",
    "validation + serialization (pydantic)",
    "middleware (request id, body limit, access)",
    "rate limiter (limits)",
    "JSON logging",
    "idempotency",
    "lease + window read",
    "commit",
    "store, other (thread hop, errors)",
    "database driver (SQLAlchemy, PyMySQL)",
    "use case",
    "guard",
    "model chain (LangChain, fake model)",
    "thread hops (executor submit, wake-ups)",
    "event loop (uvloop: socket I/O, scheduling)",
    "other",
)
_STORE_STEPS = {
    "_claim": "idempotency",
    "_release_key": "idempotency",
    "_complete_key": "idempotency",
    "claim_key": "idempotency",
    "_begin": "lease + window read",
    "_release_lease": "lease + window read",
    "_commit": "commit",
    "_create": "commit",
    "_insert_messages": "commit",
}
# For stacks with no project frame (tasks LangChain starts, the server's own work).
_LIBRARY_LAYERS = (
    (("logging", "pythonjsonlogger"), "JSON logging"),
    (("sqlalchemy", "pymysql"), "database driver (SQLAlchemy, PyMySQL)"),
    (
        ("langchain_core", "langchain", "langsmith", "uuid_utils"),
        "model chain (LangChain, fake model)",
    ),
    (("pydantic", "pydantic_core"), "validation + serialization (pydantic)"),
    (("fastapi", "starlette", "anyio"), "framework (Starlette routing, FastAPI dependencies)"),
    (("uvicorn", "httptools", "h11"), "HTTP server (uvicorn, httptools)"),
    (("concurrent", "threading", "queue"), "thread hops (executor submit, wake-ups)"),
)
_MIDDLEWARE = ("api/request_context.py", "api/body_limit.py", "api/access.py", "api/app.py")


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    path: str


def parse_stack(folded: str) -> list[Frame]:
    """py-spy's raw format: `func (file:line);func (file:line);... count`, outermost first."""
    frames = []
    for part in folded.split(";"):
        function, _, rest = part.partition(" (")
        path = rest.rsplit(":", 1)[0] if rest else ""
        frames.append(Frame(function.strip(), path))
    return frames


# py-spy names files relative to the sys.path entry they came from: `api/routes.py`,
# `sqlalchemy/engine/base.py`, `logging/__init__.py`.
def _project(frame: Frame) -> bool:
    return frame.path.startswith(("agent/", "api/")) and frame.path != "api/__main__.py"


def _in(frame: Frame, name: str) -> bool:
    return frame.path.startswith(f"{name}/") or frame.path == f"{name}.py"


def _library(frames: Sequence[Frame], *names: str) -> bool:
    return any(_in(frame, name) for frame in frames for name in names)


def layer_of(stack: Sequence[Frame]) -> str:
    """The layer one sample's CPU time belongs to."""
    inner = next((i for i in range(len(stack) - 1, -1, -1) if _project(stack[i])), None)
    if inner is None:  # a task or thread of its own: the innermost known library says
        if stack and stack[-1].function == "Runner.run":  # inside uvloop's C loop
            return "event loop (uvloop: socket I/O, scheduling)"
        for frame in reversed(stack):
            for names, layer in _LIBRARY_LAYERS:
                if any(_in(frame, name) for name in names):
                    return layer
        return "other"
    frame, below = stack[inner], stack[inner + 1 :]
    if frame.path.endswith("api/logs.py") or _library(below, "logging", "pythonjsonlogger"):
        return "JSON logging"
    if frame.path.endswith("api/access.py") and _library(below, "limits"):
        return "rate limiter (limits)"
    if frame.path.endswith(("sql/store.py", "sql/engine.py")):
        # The innermost store function that names a step of the turn.
        for outer in reversed(stack[: inner + 1]):
            name = outer.function.rsplit(".", 1)[-1]  # py-spy says Class.method
            if outer.path.endswith("sql/store.py") and name in _STORE_STEPS:
                return _STORE_STEPS[name]
        if _library(below, "sqlalchemy", "pymysql"):
            return "database driver (SQLAlchemy, PyMySQL)"
        return "store, other (thread hop, errors)"
    if frame.path.startswith("agent/understanding/guard"):
        return "guard"
    if frame.path.startswith(("agent/adapters/", "agent/understanding/")):
        return "model chain (LangChain, fake model)"
    if frame.path.endswith("agent/use_case.py") or frame.path.endswith("agent/observability.py"):
        return "use case"
    # Middleware and routes: what they called decides (uvicorn's send, pydantic, Starlette).
    for inner_frame in reversed(below):
        for names, layer in _LIBRARY_LAYERS:
            if any(_in(inner_frame, name) for name in names):
                return layer
    if frame.path.endswith(_MIDDLEWARE):
        return "middleware (request id, body limit, access)"
    return "framework (Starlette routing, FastAPI dependencies)"


def attribute(raw: str) -> Counter[str]:
    """Samples per layer from py-spy's raw (folded) output."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[layer_of(parse_stack(stack))] += int(count)
    return counts


@dataclass
class Profile:
    """One profiled phase: samples per layer, turns, CPU per turn, round trips per turn."""

    concurrency: int
    turns: int
    seconds: float
    cpu_s: float
    samples: Counter[str] = field(default_factory=Counter)
    round_trips: dict[str, float] = field(default_factory=dict)
    idempotent: bool = False  # every turn sent an Idempotency-Key

    @property
    def label(self) -> str:
        return f"c={self.concurrency}" + (" + Idempotency-Key" if self.idempotent else "")

    @property
    def cpu_ms_per_turn(self) -> float:
        return self.cpu_s / self.turns * 1000 if self.turns else float("nan")

    def shares(self) -> list[tuple[str, float, float]]:
        """(layer, share of samples, CPU ms per turn in it), heaviest first."""
        total = sum(self.samples.values()) or 1
        rows = [
            (name, self.samples[name] / total, self.samples[name] / total * self.cpu_ms_per_turn)
            for name in LAYERS
            if self.samples[name]
        ]
        return sorted(rows, key=lambda row: row[1], reverse=True)


async def _drive(
    base_url: str, seeded: Seeded, concurrency: int, seconds: float, idempotent: bool = False
) -> int:
    """Turns on the seeded conversations, `concurrency` in flight, for about `seconds`;
    `idempotent`: each with an Idempotency-Key of its own."""
    done = 0
    free = list(seeded.ids)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:

        async def worker(n: int) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                cid = free.pop()
                body = {"conversation_id": cid, "message": user_text(done + n)}
                headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
                try:
                    response = await client.post("/api/chat", json=body, headers=headers)
                except httpx.TransportError:  # a keep-alive connection closed under it
                    free.insert(0, cid)
                    continue
                free.insert(0, cid)
                if response.status_code != 200:
                    raise RuntimeError(f"turn failed: {response.status_code} {response.text}")
                done += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done


def profile_phase(
    pid: int,
    base_url: str,
    seeded: Seeded,
    counter: RoundTripCounter,
    concurrency: int,
    seconds: float,
    out: Path,
    idempotent: bool = False,
) -> Profile:
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--gil",  # only the thread holding the GIL: CPU spent in Python, not waits
            "--nonblocking",
            "--output",
            str(out),
            "--duration",
            str(int(seconds) + 1),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # py-spy attaches
    cpu_before, trips_before = process_cpu_s(pid), counter.read()
    started = time.monotonic()
    turns = asyncio.run(_drive(base_url, seeded, concurrency, seconds, idempotent))
    elapsed = time.monotonic() - started
    cpu = process_cpu_s(pid) - cpu_before
    trips = counter.per_turn(trips_before, counter.read(), turns)
    spy.wait(timeout=seconds + 30)
    profile = Profile(concurrency, turns, elapsed, cpu, round_trips=trips, idempotent=idempotent)
    if out.exists():
        profile.samples = attribute(out.read_text())
    seeded.reset()
    return profile


def run_profiles(
    admin_url: str,
    seconds: float = 8.0,
    phases: Sequence[tuple[int, bool]] = ((1, False), (32, False), (1, True)),
    keep: Path | None = None,
) -> list[Profile]:
    """`phases`: (concurrency, with an Idempotency-Key). `keep`: a directory for py-spy's raw
    stacks (c1.txt, c32.txt, c1-key.txt), else a temporary one."""
    with bench_databases(admin_url) as databases, tempfile.TemporaryDirectory() as tmp:
        stacks = keep or Path(tmp)
        stacks.mkdir(parents=True, exist_ok=True)
        from agent.migrate import migrate

        url = databases.create("profile")
        migrate(url)
        seeded = seed_kopichat(url, 64, 200)
        env = kopichat_env(url, free_port()) | {
            "KOPICHAT_ACCESS_LOG": "true",
            "KOPICHAT_LOG_LEVEL": "info",
        }
        server = start("kopichat-profile", "api", env, Path(tmp), kopichat_root())
        counter = RoundTripCounter(admin_url)
        try:
            with running([server]):
                asyncio.run(_drive(server.base_url, seeded, 4, 2.0))  # warm-up
                seeded.reset()
                return [
                    profile_phase(
                        server.process.pid,
                        server.base_url,
                        seeded,
                        counter,
                        concurrency,
                        seconds,
                        stacks / f"c{concurrency}{'-key' if idempotent else ''}.txt",
                        idempotent,
                    )
                    for concurrency, idempotent in phases
                ]
        finally:
            counter.close()


def text_table(profiles: Sequence[Profile]) -> str:
    lines = []
    for p in profiles:
        trips = ", ".join(f"{k} {v:.1f}" for k, v in p.round_trips.items())
        lines += [
            f"{p.label}: {p.turns} turns in {p.seconds:.1f} s, server CPU "
            f"{p.cpu_ms_per_turn:.2f} ms/turn; database round trips per turn: {trips}",
            *(f"  {share * 100:5.1f} %  {ms:6.2f} ms  {name}" for name, share, ms in p.shares()),
        ]
    return "\n".join(lines)


PROFILE_METHOD = (
    "`python -m bench.profile` (part of `make bench`): Kopichat (`python -m api`, fake model, "
    "access log on as in production) on MariaDB with seeded 200-message conversations; a client "
    "sends turns one at a time, then 32 at once, then one at a time each with an "
    "`Idempotency-Key`, for a few seconds each, while py-spy samples "
    "the server process (`--gil`: the thread holding the GIL, so CPU spent in Python; waits on "
    "sockets and locks are left out). Each sample goes to the layer of the innermost Kopichat "
    "frame on its stack (the store's steps by function; middleware and routes by the library "
    "they called), or, for stacks with no Kopichat frame (tasks LangChain starts, the thread "
    "pool, uvicorn), by library. *CPU ms/turn* is the server's CPU time (user + system, from "
    "/proc) over the turns, split by the layers' shares. Round trips come from MariaDB's "
    "`Com_*` counters (a ping is an admin command)."
)


def markdown_section(profiles: Sequence[Profile]) -> list[str]:
    header = "| layer | " + " | ".join(
        f"{p.label}: share | {p.label}: CPU ms/turn" for p in profiles
    )
    lines = [
        "## Where a turn's CPU time goes",
        "",
        PROFILE_METHOD,
        "",
        header + " |",
        "|---|" + "---|---|" * len(profiles),
    ]
    shares = [{name: (share, ms) for name, share, ms in p.shares()} for p in profiles]
    order = [name for name, _share, _ms in profiles[0].shares()] if profiles else []
    order += [name for name in LAYERS if name not in order]
    for name in order:
        if not any(name in s for s in shares):
            continue
        cells = []
        for s in shares:
            share, ms = s.get(name, (0.0, 0.0))
            cells += [f"{share * 100:.1f} %", f"{ms:.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for p in profiles:
        trips = ", ".join(f"{k} {v:.1f}" for k, v in p.round_trips.items() if k != "total")
        lines.append(
            f"- {p.label}: {p.turns} turns in {p.seconds:.1f} s; server CPU "
            f"{p.cpu_ms_per_turn:.2f} ms per turn; database round trips per turn "
            f"{p.round_trips.get('total', float('nan')):.1f} ({trips})."
        )
    lines += ["", *PROFILE_READING, ""]
    return lines


# What the table means for the code; kept with the table so that the page says it each time.
PROFILE_READING = (
    "- **Database round trips.** A turn sends six: the lease UPDATE and one SELECT of the "
    "conversation joined with its newest messages, COMMIT; the UPDATE that checks and clears the "
    "lease and the two-row INSERT, COMMIT. A pooled connection is pinged only after idling "
    "for a second or after a database error, and rolled back on return only when its "
    "transaction is still open (SQLAlchemy's `pool_pre_ping` and rollback-on-return cost four "
    "more per turn). The two transactions are the design's: none is held open across the "
    "model call.",
    "- **Thread hops.** SQLAlchemy is synchronous, so each of the turn's two database steps "
    "runs on a worker thread (*store, other* holds the hand-off). A pool of the store's own "
    "16 threads measured worse than the event loop's default executor (more threads "
    "contending for the GIL), so the default stays. Nothing else of a turn goes through "
    "the executor: the token counter runs inline, and the chain's output parser picks the "
    "reply's text on the event loop (LangChain's async parser sends it to the executor).",
    "- **The guard.** It reads every reply: word stems are kept per word (Snowball's "
    "pure-Python stemmer on the same topic and thesis every turn was most of it), the "
    "language of a text is kept for the turn's other readers, and a concession phrase's "
    "pattern runs only when the reply contains its first words.",
    "- **What the guarantees cost.** The turn lease is the *lease + window read* and *commit* "
    "layers' UPDATEs (no extra round trip: they share the transactions that read and write the "
    "messages); idempotency is the difference between the *c=1 + Idempotency-Key* column and "
    "the *c=1* column (one more transaction before the turn, one more UPDATE in the commit); "
    "the one deadline is a clock read per step; the JSON access log line is *JSON logging*; "
    "the request id, body limit and access checks are *middleware*; the rate limiter is off "
    "here (it costs nothing unless `KOPICHAT_RATE_LIMIT` is set).",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--mysql-url", default=os.environ.get("KOPICHAT_BENCH_MYSQL_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw stacks in this directory")
    parser.add_argument("--json", action="store_true", help="also print the samples as JSON")
    parser.add_argument("--markdown", action="store_true", help="print docs/benchmarks.md's part")
    args = parser.parse_args(argv)
    profiles = run_profiles(args.mysql_url, args.seconds, keep=args.keep)
    print(text_table(profiles))
    if args.markdown:
        print("\n".join(markdown_section(profiles)))
    if args.json:
        print(json.dumps([{"c": p.concurrency, "samples": p.samples} for p in profiles]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
