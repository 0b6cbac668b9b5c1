"""The evaluation suites, read from YAML under tests/eval/: labelled first messages and
scripted debates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = ROOT / "tests" / "eval"
# The dev part (rules may be tuned on it) and the locked test part (never tuned on).
OPENINGS_FILE = SUITE_DIR / "openings.yaml"
OPENINGS_TEST_FILE = SUITE_DIR / "openings-test.yaml"
DIALOGUES_DIR = SUITE_DIR / "dialogues"

OPENING_KINDS = frozenset(
    {"assigned", "claim", "topic", "question", "comparison", "small_talk", "instruction", "unclear"}
)
NO_SIDE_KINDS = frozenset({"small_talk", "instruction", "unclear"})


class SuiteError(ValueError):
    """A suite file that does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class OpeningCase:
    message: str
    kind: str
    lang: str
    must: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    ask_ok: bool = False
    # For a claim: the user's claim as written; "It is not true that <it>" (or the language's
    # general negation of it) is a right thesis whatever `must_not` says.
    opposes: str = ""
    # "before-split": written alongside the rules; "blind": written later without seeing them.
    origin: str = ""

    @property
    def expects_side(self) -> bool:
        return self.kind not in NO_SIDE_KINDS


@dataclass(frozen=True, slots=True)
class Dialogue:
    id: str
    lang: str
    tags: tuple[str, ...]
    turns: tuple[str, ...]


def _phrases(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise SuiteError(f"{where}: expected a list of phrases")
    return tuple(str(v) for v in value)


def load_openings(path: Path = OPENINGS_FILE) -> list[OpeningCase]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise SuiteError(f"{path}: expected a list of cases")
    cases = []
    for number, item in enumerate(data, 1):
        where = f"{path.name} case {number}"
        if not isinstance(item, dict) or not isinstance(item.get("message"), str):
            raise SuiteError(f"{where}: needs a 'message'")
        kind = item.get("kind")
        if kind not in OPENING_KINDS:
            raise SuiteError(f"{where}: kind must be one of {sorted(OPENING_KINDS)}")
        thesis = item.get("thesis") or {}
        if kind in NO_SIDE_KINDS and thesis:
            raise SuiteError(f"{where}: a '{kind}' case fixes no side, so it has no thesis")
        if kind not in NO_SIDE_KINDS and not thesis:
            raise SuiteError(f"{where}: a '{kind}' case needs a thesis label")
        cases.append(
            OpeningCase(
                message=item["message"],
                kind=kind,
                lang=str(item.get("lang", "en")),
                must=_phrases(thesis.get("must"), where),
                one_of=_phrases(thesis.get("one_of"), where),
                must_not=_phrases(thesis.get("must_not"), where),
                ask_ok=bool(item.get("ask_ok", False)),
                opposes=str(item.get("opposes") or ""),
                origin=str(item.get("origin") or ""),
            )
        )
    return cases


def load_dialogues(directory: Path = DIALOGUES_DIR) -> list[Dialogue]:
    """Every dialogue of every YAML file in `directory`, in file order then listed order."""
    dialogues: list[Dialogue] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise SuiteError(f"{path}: expected a list of dialogues")
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise SuiteError(f"{path}: every dialogue needs an 'id'")
            turns = item.get("turns")
            texts_ok = isinstance(turns, list) and all(
                isinstance(t, str) and t.strip() for t in turns
            )
            if not texts_ok:
                raise SuiteError(f"{path}: dialogue {item['id']}: 'turns' must be a list of texts")
            if item["id"] in seen:
                raise SuiteError(f"{path}: dialogue id {item['id']} is used twice")
            seen.add(item["id"])
            dialogues.append(
                Dialogue(
                    id=item["id"],
                    lang=str(item.get("lang", "en")),
                    tags=tuple(str(t) for t in item.get("tags") or ()),
                    turns=tuple(turns or ()),
                )
            )
    return dialogues
