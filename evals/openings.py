"""The labelled first messages (tests/eval/openings.yaml): is the side that each one fixes the
right one? Scored for the rules in-process, or for any model through the service."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.understanding.claims import framed
from agent.understanding.reading import read_opening
from agent.understanding.text import MAX_THESIS_CHARS, reads_as_instruction, sentences
from evals.suite import OpeningCase


@dataclass(frozen=True, slots=True)
class OpeningVerdict:
    case: OpeningCase
    thesis: str | None  # None: the bot fixed no side (it asked)
    problems: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return not self.problems


def _normal(text: str) -> str:
    """Lower case, punctuation (hyphens too: "four-day" is "four day") as spaces, apostrophes
    dropped ("can't" and a typed "cant" are the same word)."""
    return " ".join(re.sub(r"[^\w ]+", " ", re.sub(r"['’]", "", text.lower())).split())


def _says(thesis: str, phrase: str) -> bool:
    """Whether the thesis says a forbidden phrase. A phrase with a question mark ("laurea?":
    the question restated as it was asked) is matched with it; others as normal words."""
    if "?" in phrase:
        return phrase.lower().replace("’", "'") in thesis.lower().replace("’", "'")
    return _normal(phrase) in _normal(thesis)


def judge_opening(case: OpeningCase, thesis: str | None) -> OpeningVerdict:
    """Compare what the bot fixed with the label: a side or none, and what the side says."""
    if thesis is None or not thesis.strip():
        if case.expects_side and not case.ask_ok:
            return OpeningVerdict(case, None, ("asked, but a side was expected",))
        return OpeningVerdict(case, None, ())
    if not case.expects_side:
        return OpeningVerdict(case, thesis, (f"fixed a side on a '{case.kind}' message",))
    problems: list[str] = []
    said = _normal(thesis)
    if len(thesis) > MAX_THESIS_CHARS:
        problems.append(f"longer than {MAX_THESIS_CHARS} characters")
    if len(sentences(thesis)) > 1:
        problems.append("more than one sentence")
    if reads_as_instruction(thesis):
        problems.append("reads as an instruction")
    if case.kind == "claim" and said == _normal(case.message):
        problems.append("restates the user's own claim")
    problems += [f"lacks '{p}'" for p in case.must if _normal(p) not in said]
    inner = framed(thesis, case.lang)
    # A thesis in the general negation ("It is not true that …") is right only when what it
    # negates is the user's own claim: negating "prove that X" or "Quero debater sobre X" argues
    # against the side given, or says nothing, whatever words it shares with the label. Only a
    # claim labelled without `opposes` leaves it to the phrases below.
    if inner is not None and case.opposes and _normal(inner) == _normal(case.opposes):
        return OpeningVerdict(case, thesis, tuple(problems))
    if inner is not None and (case.opposes or case.kind != "claim"):
        problems.append(f"negates '{inner}', not the user's claim")
    if case.one_of and not any(_normal(p) in said for p in case.one_of):
        problems.append(f"has none of {list(case.one_of)}")
    problems += [f"says '{p}'" for p in case.must_not if _says(thesis, p)]
    return OpeningVerdict(case, thesis, tuple(problems))


def score_rules(cases: Iterable[OpeningCase]) -> list[OpeningVerdict]:
    """The rules the offline and fake models use, run in-process (no model call involved)."""
    verdicts = []
    for case in cases:
        stance = read_opening(case.message).stance
        verdicts.append(judge_opening(case, stance.thesis if stance else None))
    return verdicts


def correct_rate(verdicts: list[OpeningVerdict]) -> float | None:
    if not verdicts:
        return None
    return sum(v.correct for v in verdicts) / len(verdicts)


def outcomes(verdicts: list[OpeningVerdict]) -> dict[str, int]:
    """What a user meets, by kind of outcome: right; asked where a side was expected (the
    safe failure); a wrong or broken side stored for the whole debate (the worst); a side
    fixed on small talk, an instruction or nothing to debate."""
    counts = {"right": 0, "asked": 0, "wrong_side": 0, "side_on_nothing": 0}
    for verdict in verdicts:
        if verdict.correct:
            counts["right"] += 1
        elif verdict.thesis is None:
            counts["asked"] += 1
        elif verdict.case.expects_side:
            counts["wrong_side"] += 1
        else:
            counts["side_on_nothing"] += 1
    return counts
