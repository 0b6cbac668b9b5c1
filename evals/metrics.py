"""From per-turn checks to the rates the report and the final JSON line give."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from evals.openings import OpeningVerdict, correct_rate, outcomes
from evals.runner import DialogueRecord, TurnRecord

# The final stdout line has exactly these keys, in this order: tools read them by name.
SUMMARY_KEYS = (
    "dialogues",
    "openings_dev_rate",
    "openings_test_rate",
    "guard_precision",
    "guard_recall",
    "guard_test_precision",
    "guard_test_recall",
    "concession_rate",
    "stance_held_rate",
    "repeat_rate",
    "on_topic_rate",
    "leaks",
    "p95_turn_s",
    "judge",
)


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def p95(values: Sequence[float]) -> float | None:
    """Nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 3)


def argued(turn: TurnRecord) -> bool:
    """A reply that argues a side: the turn succeeded and a thesis was fixed by then."""
    return turn.answered and turn.thesis is not None and turn.checks is not None


def summarize(
    records: Sequence[DialogueRecord],
    openings: Sequence[OpeningVerdict] | None,
    judge: str | None,
    deadline_s: float,
    *,
    openings_test: Sequence[OpeningVerdict] | None = None,
    guard: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary line and the details behind it. `openings`: the dev part of the labelled
    first messages, `openings_test` the locked part; `guard`: evals.guard reports by part."""
    turns = [t for r in records for t in r.turns]
    answered = [t for t in turns if t.answered and t.checks is not None]
    arguing = [t for t in turns if argued(t)]
    judged = [t for t in arguing if t.verdict is not None]
    checks = [t.checks for t in arguing if t.checks is not None]
    all_checks = [t.checks for t in answered if t.checks is not None]
    language_checked = [c for c in all_checks if c.language_match is not None]

    if judge is not None:
        on_topic = _rate(sum(t.verdict.on_topic for t in judged if t.verdict), len(judged))
        on_topic_source = "judge"
    else:
        on_topic = _rate(sum(bool(c.on_topic_words) for c in checks), len(checks))
        on_topic_source = "shared content words (no judge)"
    summary = {
        "dialogues": len(records),
        "openings_dev_rate": None if openings is None else _round(correct_rate(list(openings))),
        "openings_test_rate": (
            None if openings_test is None else _round(correct_rate(list(openings_test)))
        ),
        "guard_precision": _guard_figure(guard, "dev", "precision"),
        "guard_recall": _guard_figure(guard, "dev", "recall"),
        "guard_test_precision": _guard_figure(guard, "test", "precision"),
        "guard_test_recall": _guard_figure(guard, "test", "recall"),
        "concession_rate": _rate(sum(c.concession is not None for c in checks), len(checks)),
        "stance_held_rate": (
            _rate(sum(t.verdict.holds_thesis for t in judged if t.verdict), len(judged))
            if judge is not None
            else None
        ),
        "repeat_rate": _rate(sum(c.repeat for c in checks), len(checks)),
        "on_topic_rate": on_topic,
        "leaks": sum(c.leak is not None for c in all_checks),
        "p95_turn_s": p95([t.latency_s for t in turns]),
        "judge": judge,
    }
    details = {
        "turns_played": len(turns),
        "turns_answered": len(answered),
        "turns_arguing_a_side": len(arguing),
        "turns_failed": dict(Counter(t.code or str(t.status) for t in turns if not t.answered)),
        "dialogues_aborted": [r.dialogue.id for r in records if r.aborted],
        "too_long_rate": _rate(sum(c.too_long for c in checks), len(checks)),
        "cut_off_rate": _rate(sum(c.cut_off for c in checks), len(checks)),
        "language_mismatch_rate": _rate(
            sum(c.language_match is False for c in language_checked), len(language_checked)
        ),
        "language_checked_turns": len(language_checked),
        "deadline_s": deadline_s,
        "turns_over_deadline": sum(
            1 for t in turns if t.code == "deadline_exceeded" or t.latency_s > deadline_s
        ),
        "on_topic_source": on_topic_source,
        "rebut_rate": (
            _rate(sum(t.verdict.rebuts for t in judged if t.verdict), len(judged))
            if judge is not None
            else None
        ),
        "judged_turns": len(judged),
        "judge_failures": sum(1 for t in arguing if t.judge_error),
        "leaking_turns": [
            f"{r.dialogue.id}#{t.index + 1}: {t.checks.leak}"
            for r in records
            for t in r.turns
            if t.answered and t.checks and t.checks.leak
        ],
        "conceding_turns": [
            f"{r.dialogue.id}#{t.index + 1}: {t.checks.concession}"
            for r in records
            for t in r.turns
            if argued(t) and t.checks and t.checks.concession
        ],
    }
    if guard is not None:
        details["guard"] = guard
    for part, verdicts in (("openings", openings), ("openings_test", openings_test)):
        if verdicts is not None:
            details[part] = _openings_details(verdicts)
    return summary, details


def _guard_figure(guard: dict[str, Any] | None, part: str, figure: str) -> float | None:
    """Precision or recall of the guard's replacing rules on one part of the labelled replies."""
    if guard is None or part not in guard:
        return None
    value = guard[part]["replacing_rules"][figure]
    return None if value is None else float(value)


def _openings_details(openings: Sequence[OpeningVerdict]) -> dict[str, Any]:
    by_kind: dict[str, list[int]] = {}
    for verdict in openings:
        counts = by_kind.setdefault(verdict.case.kind, [0, 0])
        counts[0] += verdict.correct
        counts[1] += 1
    return {
        "cases": len(openings),
        "correct": sum(v.correct for v in openings),
        "asked": sum(v.thesis is None for v in openings),
        "outcomes": outcomes(list(openings)),
        "by_kind": {kind: f"{c}/{n}" for kind, (c, n) in sorted(by_kind.items())},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
