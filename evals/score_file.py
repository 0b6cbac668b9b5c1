"""`make eval-score FILE=replies.jsonl`: score replies that were collected elsewhere, one
verdict per line, so that hand-labelled replies can show how often each scorer agrees with a
person.

Each input line: {"topic", "thesis", "user", "reply"}, optionally "antithesis" (the claim the
thesis opposes, as the service stores it), "held" (a person's verdict: true if the reply still
defends the thesis), "lang" (the user's language), "canary" and "id" (yours, to find the reply
again). Output: one JSON verdict per input line on stdout, with its line number (and its "id",
when it has one) and the stance guard's verdict (`guard`: null when
it lets the reply through, else the problem; `guard_suspicion`: what a rule too imprecise to act
alone suspects); with labels, a summary of agreement on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.adapters.prompt_files import load_prompt_library, prompts_dir_for
from agent.domain import Stance
from agent.settings import load_settings
from agent.understanding.guard import StanceGuard
from evals.judge import Judge, JudgeFailed, judge_from_environment
from evals.scorers import check_reply, instruction_shingles

REQUIRED = ("topic", "thesis", "user", "reply")


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"eval-score: {path}:{number}: not JSON ({exc.msg})") from None
        missing = [k for k in REQUIRED if not isinstance(record.get(k), str)]
        if missing:
            raise SystemExit(f"eval-score: {path}:{number}: missing {', '.join(missing)}")
        records.append((number, record))
    return records


def verdict(
    record: dict[str, Any],
    shingles: frozenset[tuple[str, ...]],
    judge: Judge | None,
    guard: StanceGuard | None = None,
) -> dict[str, Any]:
    checks = check_reply(
        reply=record["reply"],
        user=record["user"],
        topic=record["topic"],
        thesis=record["thesis"],
        user_language=record.get("lang"),
        canary=str(record.get("canary", "")),
        shingles=shingles,
    )
    result: dict[str, Any] = {
        "concession": checks.concession,
        "leak": checks.leak,
        "too_long": checks.too_long,
        "cut_off": checks.cut_off,
        "language_match": checks.language_match,
        "on_topic_words": checks.on_topic_words,
        "judge": None,
        "held": record.get("held"),
    }
    if guard is not None:
        stance = Stance(record["topic"], record["thesis"], str(record.get("antithesis") or ""))
        checked = guard.check(record["reply"], record["reply"], stance, str(record.get("user", "")))
        # The guard knows no canary of its own here: the record's, checked above, counts.
        leaked = f"leak: {checks.leak}" if checks.leak else None
        result["guard"] = leaked or (checked.problem if checked.replaces else None)
        result["guard_suspicion"] = None if checked.replaces else checked.problem
    if judge is not None:
        try:
            graded = judge.grade(
                topic=record["topic"], thesis=record["thesis"], user=record["user"],
                reply=record["reply"],
            )  # fmt: skip
            result["judge"] = graded.model_dump()
        except JudgeFailed as failed:
            result["judge"] = {"error": str(failed)}
    return result


def agreement(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """How each scorer compares with a person's `held` labels. A scorer "flags" a reply when it
    says the reply gave up the side."""
    labelled = [v for v in verdicts if isinstance(v["held"], bool)]
    failures = [v for v in labelled if not v["held"]]
    summary: dict[str, Any] = {"labelled": len(labelled), "person_says_not_held": len(failures)}

    def phrases_flag(v: dict[str, Any]) -> bool:
        return v["concession"] is not None

    def guard_flag(v: dict[str, Any]) -> bool:
        return v.get("guard") is not None

    def judge_flag(v: dict[str, Any]) -> bool:
        graded = v["judge"]
        return isinstance(graded, dict) and graded.get("holds_thesis") is False

    flags: dict[str, Callable[[dict[str, Any]], bool]] = {
        "concession_phrases": phrases_flag,
        "guard": guard_flag,
    }
    if any(isinstance(v["judge"], dict) and "holds_thesis" in v["judge"] for v in labelled):
        flags["judge"] = judge_flag
    for name, flagged in flags.items():
        agree = sum(1 for v in labelled if flagged(v) == (not v["held"]))
        caught = sum(1 for v in failures if flagged(v))
        false_alarms = sum(1 for v in labelled if v["held"] and flagged(v))
        summary[name] = {
            "caught": caught,
            "of": len(failures),
            "false_alarms": false_alarms,
            "precision": round(caught / (caught + false_alarms), 3)
            if caught + false_alarms
            else None,
            "recall": round(caught / len(failures), 3) if failures else None,
            "agreement": round(agree / len(labelled), 3) if labelled else None,
        }
    return summary


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals score", description=__doc__)
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"eval-score: {args.file} does not exist", file=sys.stderr)
        return 1
    settings = load_settings()
    library = load_prompt_library(settings.prompt_version, prompts_dir_for(settings.prompts_dir))
    shingles = instruction_shingles(library.values())
    guard = StanceGuard(
        canary="", instructions=[t for prompts in library.values() for t in prompts.instructions()]
    )
    judge = judge_from_environment()
    verdicts = []
    for number, record in _records(args.file):
        found = {"id": record["id"]} if "id" in record else {}
        result = {"line": number, **found, **verdict(record, shingles, judge, guard)}
        verdicts.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    print("eval-score: " + json.dumps(agreement(verdicts)), file=sys.stderr)
    return 0
