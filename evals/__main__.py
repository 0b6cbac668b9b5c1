"""`python -m evals` (make eval): the scripted debates and the labelled first messages, through
the service over HTTP, with the configured model. `python -m evals score FILE` (make
eval-score): the deterministic scorers (and the judge, if configured) on a JSONL file of
replies.

The last stdout line is one JSON object with the headline numbers; the Markdown report and the
JSON file go to --out (default evals/results/<time>-<model>/).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from agent.adapters.prompt_files import load_prompt_library, prompts_dir_for
from agent.errors import ConfigError
from agent.settings import load_settings
from agent.understanding.guard import StanceGuard
from evals import report
from evals.guard import GUARD_DEV_FILE, GUARD_TEST_FILE, load_guard_cases, score_guard
from evals.judge import Judge, JudgeFailed, judge_from_environment
from evals.metrics import SUMMARY_KEYS, summarize
from evals.openings import OpeningVerdict, judge_opening, score_rules
from evals.runner import DialogueRecord, TurnRecord, play
from evals.scorers import MAX_WORDS, check_reply, instruction_shingles, reply_prefixes
from evals.service import Target, service
from evals.suite import (
    OPENINGS_TEST_FILE,
    ROOT,
    Dialogue,
    OpeningCase,
    load_dialogues,
    load_openings,
)

_T0 = time.monotonic()


def _log(message: str) -> None:
    print(f"eval: [{time.monotonic() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    parser.add_argument(
        "--url",
        default=os.environ.get("KOPICHAT_EVAL_URL") or None,
        help="evaluate the service running at this URL (default: start one here with the "
        "configured model and a temporary SQLite database; env KOPICHAT_EVAL_URL)",
    )
    parser.add_argument("--only", help="comma-separated dialogue ids to play")
    parser.add_argument("--dialogues", type=int, help="play only the first N dialogues")
    parser.add_argument(
        "--openings",
        choices=["auto", "http", "rules", "skip"],
        default="auto",
        help="score the labelled first messages through the service (http), with the rules "
        "in-process (rules), or not at all; auto: rules for the models that use them "
        "(fake, local), http otherwise",
    )
    parser.add_argument("--out", type=Path, help="directory for report.md and results.json")
    return parser.parse_args(argv)


def _chosen(dialogues: list[Dialogue], args: argparse.Namespace) -> list[Dialogue]:
    if args.only:
        wanted = [i.strip() for i in args.only.split(",") if i.strip()]
        known = {d.id: d for d in dialogues}
        missing = [i for i in wanted if i not in known]
        if missing:
            raise SystemExit(f"eval: unknown dialogue ids: {', '.join(missing)}")
        dialogues = [known[i] for i in wanted]
    if args.dialogues is not None:
        dialogues = dialogues[: args.dialogues]
    return dialogues


def _openings_over_http(client: httpx.Client, cases: list[OpeningCase]) -> list[OpeningVerdict]:
    verdicts = []
    for case in cases:
        response = client.post("/api/chat", json={"conversation_id": None, "message": case.message})
        if response.status_code != 200:
            code = response.json().get("code", response.status_code)
            verdicts.append(OpeningVerdict(case, None, (f"the turn failed ({code})",)))
            continue
        conversation = response.json()["conversation_id"]
        thesis = client.get(f"/api/conversations/{conversation}").json()["thesis"]
        verdicts.append(judge_opening(case, thesis))
    return verdicts


def _score(records: list[DialogueRecord], target: Target, judge: Judge | None) -> None:
    settings = load_settings()
    library = load_prompt_library(settings.prompt_version, prompts_dir_for(settings.prompts_dir))
    shingles = instruction_shingles(library.values())
    for record in records:
        prompts = library.get(record.prompt_version or settings.prompt_version)
        earlier: list[str] = []
        for turn in record.turns:
            if not turn.answered or turn.reply is None:
                continue
            prefixes: tuple[str, ...] = ()
            if prompts is not None and turn.thesis:
                prefixes = reply_prefixes(prompts, turn.topic or "", turn.thesis)
            turn.checks = check_reply(
                reply=turn.reply,
                user=turn.user,
                topic=turn.topic,
                thesis=turn.thesis,
                earlier_replies=earlier,
                prefixes=prefixes,
                user_language=record.dialogue.lang,
                canary=target.canary,
                shingles=shingles,
            )
            earlier.append(turn.reply)
            if judge is not None and turn.thesis:
                _grade(judge, turn)


def _grade(judge: Judge, turn: TurnRecord) -> None:
    try:
        turn.verdict = judge.grade(
            topic=turn.topic or "", thesis=turn.thesis or "", user=turn.user, reply=turn.reply or ""
        )
    except JudgeFailed as failed:
        turn.judge_error = str(failed)


def run(args: argparse.Namespace) -> dict[str, object]:
    started_at = datetime.now(UTC)
    dialogues = _chosen(load_dialogues(), args)
    cases = load_openings()
    test_cases = load_openings(OPENINGS_TEST_FILE)
    judge = judge_from_environment()
    with (
        tempfile.TemporaryDirectory(prefix="kopichat-eval-") as tmp,
        service(args.url, Path(tmp)) as target,
    ):
        _log(f"service at {target.base_url}, model {target.model}")
        mode = args.openings
        if mode == "auto":
            mode = "rules" if target.rule_based_openings else "http"
        with httpx.Client(base_url=target.base_url, timeout=target.deadline_s + 30) as client:
            openings: list[OpeningVerdict] | None = None
            openings_test: list[OpeningVerdict] | None = None
            if mode == "rules":
                openings, openings_test = score_rules(cases), score_rules(test_cases)
            elif mode == "http":
                _log(
                    f"{len(cases)} + {len(test_cases)} labelled first messages (dev + locked "
                    "test), each a new conversation"
                )
                openings = _openings_over_http(client, cases)
                openings_test = _openings_over_http(client, test_cases)
            records = []
            for number, dialogue in enumerate(dialogues, 1):
                _log(f"dialogue {number}/{len(dialogues)}: {dialogue.id}")
                records.append(play(client, dialogue))
        _score(records, target, judge)
        model = target.model
    summary, details = summarize(
        records,
        openings,
        judge.name if judge else None,
        target.deadline_s,
        openings_test=openings_test,
        guard=_guard_report(),
    )
    scorers = [
        "concession phrases (en, fr, es, de, it, pt, ru)",
        "leaks: " + ("canary and " if target.canary else "") + "8-word echoes of the instructions",
        f"length (over {MAX_WORDS} words)",
        "cut-off",
        "verbatim repeat",
        "reply language",
        "turn time against the deadline",
        "on topic: judge" if judge else "on topic: shared content words",
    ]
    if judge:
        scorers.append(f"judge {judge.name}: holds thesis, on topic, rebuts")
    openings_source = {
        "rules": "read in-process by the rules (the service uses the same rules for this model)",
        "http": "read by the service, one new conversation per message",
        "skip": "not scored",
    }[mode]
    meta = {
        "model": model,
        "prompt_version": load_settings().prompt_version,
        "started_at": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": time.monotonic() - _T0,
        "service": args.url or "started here (temporary SQLite database)",
        "canary": bool(target.canary),
        "guard": _guard(args.url),
        "openings_source": openings_source,
        "scorers": scorers,
    }
    notes = report.model_notes(model, summary, details)
    meta["notes"] = notes
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model)[:40]
    out = args.out or ROOT / "evals" / "results" / f"{started_at:%Y%m%d-%H%M%S}-{slug}"
    markdown_path, json_path = report.write(out, meta, summary, details, records, openings)
    _log(f"report: {markdown_path}")
    _log(f"results: {json_path}")
    for note in notes:  # beside the summary line that shows the figures
        _log(f"note: {note}")
    for part, title in (("openings", "openings dev"), ("openings_test", "openings locked")):
        if part in details:
            _log(f"{title}: {report.outcome_line(details[part]['outcomes'])}")
    return summary


def _guard_report() -> dict[str, Any]:
    """The guard's rules on the labelled replies (in-process: the rules are the same for every
    model; a judge is measured with `make eval-score`)."""
    settings = load_settings()
    library = load_prompt_library(settings.prompt_version, prompts_dir_for(settings.prompts_dir))
    guard = StanceGuard(
        canary="", instructions=[t for prompts in library.values() for t in prompts.instructions()]
    )
    return {
        part: score_guard(load_guard_cases(path), guard).as_dict()
        for part, path in (("dev", GUARD_DEV_FILE), ("test", GUARD_TEST_FILE))
    }


def _guard(url: str | None) -> str:
    """The service's stance guard, as far as the harness knows it."""
    if url:
        return "as configured at the service"
    settings = load_settings()
    if not settings.guard:
        return "off"
    return f"on, judge {settings.judge_model_spec}" if settings.judge_model_spec else "on"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["score"]:
        from evals.score_file import main as score_main

        return score_main(argv[1:])
    try:
        summary = run(_arguments(argv))
    except (ConfigError, RuntimeError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 1
    assert tuple(summary) == SUMMARY_KEYS
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
