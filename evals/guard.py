"""The stance guard measured on labelled replies (tests/eval/guard.yaml: the dev part, which
rules may be tuned on; tests/eval/guard-test.yaml: the locked part, never tuned on).

A reply "fails" when its label is concedes, switches or incoherent. For the guard as a whole and
for each rule: caught (failures it flags), false alarms (good replies it flags), precision and
recall. Only rules with precision >= 0.95 on the dev part may replace a reply
(agent.understanding.guard.REPLACING_RULES).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.domain import Stance
from agent.understanding.guard import StanceGuard, Verdict
from evals.suite import ROOT, SuiteError

GUARD_DEV_FILE = ROOT / "tests" / "eval" / "guard.yaml"
GUARD_TEST_FILE = ROOT / "tests" / "eval" / "guard-test.yaml"
LABELS = ("holds", "concedes", "switches", "incoherent")
RULES = ("leak", "concession", "switched side", "off topic")


@dataclass(frozen=True, slots=True)
class GuardCase:
    lang: str
    stance: Stance
    user: str
    reply: str
    label: str

    @property
    def fails(self) -> bool:
        return self.label != "holds"


def load_guard_cases(path: Path) -> list[GuardCase]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise SuiteError(f"{path}: expected a list of labelled replies")
    cases = []
    for number, item in enumerate(data, 1):
        where = f"{path.name} case {number}"
        if not isinstance(item, dict):
            raise SuiteError(f"{where}: expected a mapping")
        fields = {k: item.get(k) for k in ("lang", "topic", "thesis", "antithesis", "user")}
        fields["reply"], fields["label"] = item.get("reply"), item.get("label")
        missing = [k for k, v in fields.items() if not isinstance(v, str) or not v.strip()]
        if missing:
            raise SuiteError(f"{where}: missing {', '.join(missing)}")
        if fields["label"] not in LABELS:
            raise SuiteError(f"{where}: label must be one of {', '.join(LABELS)}")
        stance = Stance(str(fields["topic"]), str(fields["thesis"]), str(fields["antithesis"]))
        cases.append(
            GuardCase(
                str(fields["lang"]), stance, str(fields["user"]), str(item["reply"]), item["label"]
            )
        )
    return cases


@dataclass(frozen=True, slots=True)
class Detection:
    """How one flag (a rule, or any rule) fares against the labels."""

    caught: int
    false_alarms: int
    failures: int

    @property
    def precision(self) -> float | None:
        flagged = self.caught + self.false_alarms
        return self.caught / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.failures if self.failures else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "caught": self.caught,
            "false_alarms": self.false_alarms,
            "failures": self.failures,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def detection(flags: Iterable[tuple[bool, bool]]) -> Detection:
    """`flags`: (flagged, labelled a failure) per reply."""
    pairs = list(flags)
    return Detection(
        caught=sum(f and fail for f, fail in pairs),
        false_alarms=sum(f and not fail for f, fail in pairs),
        failures=sum(fail for _, fail in pairs),
    )


@dataclass(frozen=True, slots=True)
class GuardReport:
    verdicts: list[tuple[GuardCase, Verdict]]

    def overall(self, *, replacing_only: bool = False) -> Detection:
        return detection(
            ((v.replaces if replacing_only else not v.ok), c.fails) for c, v in self.verdicts
        )

    def by_rule(self) -> dict[str, Detection]:
        return {
            rule: detection((v.rule == rule, c.fails) for c, v in self.verdicts) for rule in RULES
        }

    def recall_by_label(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for label in LABELS[1:]:
            flagged = [not v.ok for c, v in self.verdicts if c.label == label]
            out[label] = _round(sum(flagged) / len(flagged)) if flagged else None
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "replies": len(self.verdicts),
            "any_rule": self.overall().as_dict(),
            "replacing_rules": self.overall(replacing_only=True).as_dict(),
            "by_rule": {rule: d.as_dict() for rule, d in self.by_rule().items()},
            "recall_by_label": self.recall_by_label(),
        }


def score_guard(cases: Iterable[GuardCase], guard: StanceGuard) -> GuardReport:
    """The guard's rules on each labelled reply (the reply is all the model's own text)."""
    return GuardReport([(c, guard.check(c.reply, c.reply, c.stance, c.user)) for c in cases])
