"""The stance guard measured against people: a rule may replace a reply only when its precision
on the labelled replies of tests/eval/guard.yaml (the dev part) is at least 0.95 over enough
flags to tell; the others only raise suspicions for a judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.adapters.prompt_files import load_prompt_library
from agent.understanding.guard import REPLACING_RULES, StanceGuard
from evals.guard import (
    GUARD_DEV_FILE,
    GUARD_TEST_FILE,
    LABELS,
    RULES,
    GuardReport,
    load_guard_cases,
    score_guard,
)

MIN_PRECISION = 0.95
MIN_FLAGS = 10  # fewer flags than this tell nothing about precision
INSTRUCTIONS = [t for prompts in load_prompt_library("v3").values() for t in prompts.instructions()]


def dev_report() -> GuardReport:
    guard = StanceGuard(canary="", instructions=INSTRUCTIONS)
    return score_guard(load_guard_cases(GUARD_DEV_FILE), guard)


@pytest.mark.parametrize("path", [GUARD_DEV_FILE, GUARD_TEST_FILE], ids=["dev", "test"])
def test_each_part_has_enough_labelled_replies_of_every_kind(path: Path) -> None:
    cases = load_guard_cases(path)
    assert len(cases) >= 100
    assert {c.label for c in cases} == set(LABELS)
    assert {c.lang for c in cases} == {"en", "fr", "es", "de", "it", "pt", "ru"}


@pytest.mark.parametrize("rule", sorted(set(RULES) - {"leak"}))
def test_a_rule_replaces_replies_only_when_it_is_precise(rule: str) -> None:
    found = dev_report().by_rule()[rule]
    precise = (
        found.caught + found.false_alarms >= MIN_FLAGS
        and found.precision is not None
        and found.precision >= MIN_PRECISION
    )
    assert (rule in REPLACING_RULES) == precise, found.as_dict()


def test_the_replacing_rules_together_keep_good_replies() -> None:
    overall = dev_report().overall(replacing_only=True)
    assert overall.precision is not None
    assert overall.precision >= MIN_PRECISION
    assert overall.recall is not None
    assert overall.recall > 0
