"""A model behind the real service: full turns over HTTP at concurrency 1 and 4, streamed.

A uvicorn server (`python -m api`) on a temporary SQLite file (the `make run` default) with the
given model. At concurrency c, c debates run side by side, each a first message and then
follow-ups sent one after the other (a client waits for the answer before it speaks again).
Every turn goes through `POST /api/chat/stream`: *first token* is the time from sending the
request to the first `token` event, *full reply* to the final event. Latencies are the
client's; at c=4 the wait in the offline model's queue (one generation at a time) is part of
them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.offline_model import percentile
from bench.seed import OPENING, user_text
from bench.servers import free_port, running, start


@dataclass
class OfflineHttp:
    build: str  # the llama.cpp build, or the model's name for other models
    # concurrency -> per-turn latencies (s) of the answered turns, and every turn's outcome
    latency_s: dict[int, list[float]] = field(default_factory=dict)
    first_token_s: dict[int, list[float]] = field(default_factory=dict)
    statuses: dict[int, list[str]] = field(default_factory=dict)
    wall_s: dict[int, float] = field(default_factory=dict)

    def row(self, concurrency: int) -> dict[str, float]:
        values = self.latency_s.get(concurrency, [])
        firsts = self.first_token_s.get(concurrency, [])
        outcomes = self.statuses.get(concurrency, [])
        wall = self.wall_s.get(concurrency, float("nan"))
        ok = outcomes.count("done")
        return {
            "turns": len(outcomes),
            "ok": ok,
            "first_token_p50_s": percentile(firsts, 50),
            "first_token_p95_s": percentile(firsts, 95),
            "p50_s": percentile(values, 50),
            "p95_s": percentile(values, 95),
            "turns_per_s": ok / wall if wall else float("nan"),
        }


async def _streamed_turn(
    client: httpx.AsyncClient, body: dict[str, object]
) -> tuple[str, float | None, float, dict[str, object]]:
    """(final event, seconds to the first token event or None, seconds to the end, its data)."""
    started = time.perf_counter()
    first: float | None = None
    kind, data = "", ""
    async with client.stream("POST", "/api/chat/stream", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return f"http {response.status_code}", None, time.perf_counter() - started, {}
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
                if kind == "token" and first is None:
                    first = time.perf_counter() - started
                if kind in ("done", "error"):
                    break
    return kind, first, time.perf_counter() - started, json.loads(data) if data else {}


async def _debate(
    client: httpx.AsyncClient, turns: int, seed: int, out: OfflineHttp, c: int
) -> None:
    conversation_id: object = None
    for turn in range(turns):
        text = OPENING if turn == 0 else user_text(seed + turn)
        body = {"conversation_id": conversation_id, "message": text}
        kind, first, elapsed, data = await _streamed_turn(client, body)
        out.statuses.setdefault(c, []).append(kind)
        if kind != "done":
            continue
        out.latency_s.setdefault(c, []).append(elapsed)
        if first is not None:
            out.first_token_s.setdefault(c, []).append(first)
        conversation_id = data["conversation_id"]


async def _phase(base_url: str, concurrency: int, turns: int, out: OfflineHttp) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(_debate(client, turns, 10 * i, out, concurrency) for i in range(concurrency))
        )
        out.wall_s[concurrency] = time.perf_counter() - started


def measure_offline_http(
    build: str,
    first_on_path: tuple[Path, ...],
    quick: bool,
    log_dir: Path,
    model: str = "local",
) -> OfflineHttp:
    out = OfflineHttp(build)
    port = free_port()
    env = {
        "KOPICHAT_MODEL": model,
        "DATABASE_URL": f"sqlite:///{log_dir / f'http-{build}.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KOPICHAT_ACCESS_LOG": "false",
        "KOPICHAT_LOG_LEVEL": "warning",
    }
    server = start(f"http-{build}", "api", env, log_dir, first_on_path=first_on_path)
    with running([server]):
        for concurrency in (1, 4):
            turns = (3 if quick else 6) if model == "local" else (10 if quick else 40)
            asyncio.run(_phase(server.base_url, concurrency, turns, out))
    return out
