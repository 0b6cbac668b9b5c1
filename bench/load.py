"""An async HTTP load generator (httpx) that runs in rounds.

A round gives every seeded conversation of one (app, length) exactly one turn, with at most
`concurrency` turns in flight (never two on one conversation: Kopichat would answer 409). After
the round the conversations are put back to their seeded length, so every measured turn hits a
conversation of exactly the stated length. Rounds of all apps and lengths are interleaved, so
drift on a noisy machine spreads over every cell alike.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from bench.db import RowCounter, scalar
from bench.seed import Seeded, user_text


@dataclass(frozen=True, slots=True)
class Target:
    """One app at one conversation length."""

    app: str
    base_url: str
    seeded: Seeded
    count_sql: str  # how many messages the target's conversations hold now


@dataclass
class Cell:
    """Everything measured for one (app, length, concurrency)."""

    app: str
    length: int
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    errors: int = 0
    rows_read: int = 0
    rounds: int = 0
    length_checked: bool = True

    @property
    def requests(self) -> int:
        return len(self.latencies_s) + self.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.busy_s if self.busy_s else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile of the successful turns, in milliseconds."""
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def rows_per_turn(self) -> float:
        return self.rows_read / self.requests if self.requests else float("nan")


async def _one_round(
    client: httpx.AsyncClient, target: Target, concurrency: int, turn: int, limit: int = 0
) -> tuple[list[float], int, float]:
    pending = list(target.seeded.ids[:limit] if limit else target.seeded.ids)
    random.shuffle(pending)
    latencies: list[float] = []
    errors = 0
    url = f"{target.base_url}/api/chat"

    async def worker() -> None:
        nonlocal errors
        while pending:
            body = {"conversation_id": pending.pop(), "message": user_text(turn)}
            started = time.perf_counter()
            response = await client.post(url, json=body)
            elapsed = time.perf_counter() - started
            if response.status_code == 200:
                latencies.append(elapsed)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


async def run_phase(
    targets: Sequence[Target],
    concurrency: int,
    *,
    min_rounds: int,
    max_rounds: int,
    budget_s: float,
    counter: RowCounter,
    warmup_rounds: int = 1,
    warmup_turns: int = 0,
) -> list[Cell]:
    """Rounds over every target in turn until `max_rounds`, or `budget_s` once `min_rounds`.

    Warm-up rounds (`warmup_turns` conversations each, 0 for all) are not measured."""
    cells = {(t.app, t.seeded.length): Cell(t.app, t.seeded.length, concurrency) for t in targets}
    # A client's idle connections wait while the other targets run. uvicorn closes a connection
    # idle for 5 s, which is also httpx's default expiry: a request sent on one just as the server
    # closes it fails with ReadError (it did, in 2 of 4 full runs). The client lets go first.
    limits = httpx.Limits(
        max_connections=concurrency + 4, max_keepalive_connections=concurrency, keepalive_expiry=2.0
    )
    clients = {t.base_url: httpx.AsyncClient(limits=limits, timeout=60.0) for t in targets}
    try:
        for _ in range(warmup_rounds):
            for target in targets:
                await _one_round(clients[target.base_url], target, concurrency, 1, warmup_turns)
                target.seeded.reset()
        started = time.monotonic()
        for round_no in range(max_rounds):
            if round_no >= min_rounds and time.monotonic() - started > budget_s:
                break
            # Alternate the order, so neither app always runs right after the other.
            ordered = list(targets) if round_no % 2 == 0 else list(reversed(targets))
            for target in ordered:
                cell = cells[(target.app, target.seeded.length)]
                before = counter.rows_read()
                latencies, errors, busy = await _one_round(
                    clients[target.base_url], target, concurrency, round_no + 2
                )
                cell.rows_read += counter.rows_read() - before
                cell.latencies_s += latencies
                cell.errors += errors
                cell.busy_s += busy
                cell.rounds += 1
                seeded = target.seeded
                expected = len(seeded.ids) * (seeded.length + 2)
                if int(scalar(seeded.url, target.count_sql)) != expected:
                    cell.length_checked = False
                seeded.reset()
    finally:
        for client in clients.values():
            await client.aclose()
    return list(cells.values())
