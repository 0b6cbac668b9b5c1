"""The offline model behind the real service: full turns over HTTP at concurrency 1 and 4.

A uvicorn server with `KOPICHAT_MODEL=local` on a temporary SQLite file (the `make run`
default). At concurrency c, c debates run side by side, each a first message and then follow-ups
sent one after the other (a client waits for the answer before it speaks again). Latency is the
client's, per turn; the queue in front of the model is part of it at c=4.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.offline_model import percentile
from bench.seed import OPENING, user_text
from bench.servers import free_port, running, start


@dataclass
class OfflineHttp:
    build: str
    # concurrency -> per-turn latencies (s) of the answered turns, and their statuses
    latency_s: dict[int, list[float]] = field(default_factory=dict)
    statuses: dict[int, list[int]] = field(default_factory=dict)
    wall_s: dict[int, float] = field(default_factory=dict)

    def row(self, concurrency: int) -> dict[str, float]:
        values = self.latency_s.get(concurrency, [])
        statuses = self.statuses.get(concurrency, [])
        wall = self.wall_s.get(concurrency, float("nan"))
        return {
            "turns": len(statuses),
            "ok": statuses.count(200),
            "p50_s": percentile(values, 50),
            "p95_s": percentile(values, 95),
            "turns_per_s": statuses.count(200) / wall if wall else float("nan"),
        }


async def _debate(
    client: httpx.AsyncClient, turns: int, seed: int, out: OfflineHttp, c: int
) -> None:
    conversation_id: str | None = None
    for turn in range(turns):
        text = OPENING if turn == 0 else user_text(seed + turn)
        started = time.perf_counter()
        response = await client.post(
            "/api/chat", json={"conversation_id": conversation_id, "message": text}
        )
        elapsed = time.perf_counter() - started
        out.statuses.setdefault(c, []).append(response.status_code)
        if response.status_code != 200:
            continue
        out.latency_s.setdefault(c, []).append(elapsed)
        conversation_id = response.json()["conversation_id"]


async def _phase(base_url: str, concurrency: int, turns: int, out: OfflineHttp) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(_debate(client, turns, 10 * i, out, concurrency) for i in range(concurrency))
        )
        out.wall_s[concurrency] = time.perf_counter() - started


def measure_offline_http(
    build: str, first_on_path: tuple[Path, ...], quick: bool, log_dir: Path
) -> OfflineHttp:
    out = OfflineHttp(build)
    port = free_port()
    env = {
        "KOPICHAT_MODEL": "local",
        "DATABASE_URL": f"sqlite:///{log_dir / f'offline-{build}.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KOPICHAT_ACCESS_LOG": "false",
        "KOPICHAT_LOG_LEVEL": "warning",
    }
    server = start(f"offline-{build}", "api", env, log_dir, first_on_path=first_on_path)
    with running([server]):
        for concurrency in (1, 4):
            asyncio.run(_phase(server.base_url, concurrency, 3 if quick else 6, out))
    return out
