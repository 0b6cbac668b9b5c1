"""Tables and headline figures for the offline-model part of the benchmark."""

from __future__ import annotations

import math

from bench.offline_builds import OfflineResults
from bench.offline_model import OfflineRun

# Targets of the offline model, portable build: median full reply on the later-turn prompt
# (in-process, warm), and median time to the first streamed token over HTTP (concurrency 1).
REPLY_TARGET_S = 2.0
FIRST_TOKEN_TARGET_S = 1.0

MODEL_HEADER = [
    "build",
    "load s",
    "815-token prompt eval s",
    "prompt eval tok/s",
    "turn",
    "prompt tokens (evaluated)",
    "first token s (p50)",
    "full reply s p50 / p95",
    "reply tokens",
    "generation tok/s",
    "replies",
]
HTTP_HEADER = [
    "model (build)",
    "concurrency",
    "turns (done)",
    "first token p50 / p95 s",
    "full reply p50 / p95 s",
    "turns/s",
]


def _f(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def model_rows(results: OfflineResults) -> list[list[str]]:
    rows: list[list[str]] = []
    for run in results.runs:
        eval_s = sorted(run.full_prompt_eval_s)[len(run.full_prompt_eval_s) // 2]
        for label, replies in (("cold", run.cold), ("warm", run.warm)):
            s = run.summary(replies)
            rows.append(
                [
                    run.build.split()[0],
                    _f(run.load_s),
                    _f(eval_s),
                    _f(run.prompt_eval_tokens_per_s, 0),
                    label,
                    f"{s['prompt_tokens']:.0f} ({s['evaluated_prompt_tokens']:.0f})",
                    _f(s["first_token_p50_s"]),
                    f"{_f(s['p50_s'])} / {_f(s['p95_s'])}",
                    _f(s["reply_tokens"], 0),
                    _f(s["generation_tokens_per_s"], 0),
                    str(int(s["replies"])),
                ]
            )
    return rows


def http_rows(results: OfflineResults) -> list[list[str]]:
    rows: list[list[str]] = []
    for http in results.http:
        name = "fake" if http.build == "fake" else f"offline ({http.build.split()[0]})"
        for concurrency in sorted(http.statuses):
            r = http.row(concurrency)
            rows.append(
                [
                    name,
                    str(concurrency),
                    f"{r['turns']:.0f} ({r['ok']:.0f})",
                    f"{_f(r['first_token_p50_s'])} / {_f(r['first_token_p95_s'])}",
                    f"{_f(r['p50_s'])} / {_f(r['p95_s'])}",
                    _f(r["turns_per_s"]),
                ]
            )
    return rows


def _run(results: OfflineResults, build: str) -> OfflineRun | None:
    return next((r for r in results.runs if r.build.startswith(build)), None)


def metrics(results: OfflineResults) -> dict[str, float]:
    """Headline figures of the portable build (the default everyone gets)."""
    run = _run(results, "portable")
    if run is None:
        return {}
    values = {
        "offline_reply_p50_s": run.summary(run.warm)["p50_s"],
        "offline_cold_reply_p50_s": run.summary(run.cold)["p50_s"],
        "offline_first_token_p50_s": run.summary(run.warm)["first_token_p50_s"],
    }
    for http in results.http:
        if http.build.startswith("portable"):
            values["offline_first_token_http_p50_s"] = http.row(1)["first_token_p50_s"]
            values["offline_first_token_http_c4_p50_s"] = http.row(4)["first_token_p50_s"]
            values["offline_http_c4_p95_s"] = http.row(4)["p95_s"]
        if http.build == "fake":
            values["fake_first_token_http_p50_s"] = http.row(1)["first_token_p50_s"]
    return {name: round(value, 3) for name, value in values.items()}
