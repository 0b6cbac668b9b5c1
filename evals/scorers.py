"""Deterministic checks of one bot reply. Each sees only text, so each says less than a person
would; docs/evaluation.md lists what each can and cannot see."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from agent.adapters.prompt_files import PromptSet
from agent.understanding.concessions import concession_in, without_quotes
from agent.understanding.language import detect_language, words
from agent.understanding.leaks import instruction_shingles as _shingles
from agent.understanding.leaks import leak_in

MAX_WORDS = 120  # the limit the debater prompts (v1, v2) give the model
_ENDS_A_SENTENCE = re.compile(r"[.!?。！？)\]\"”»’']\s*$")
_CUT_MARK = re.compile(r"(?:…|\.\.\.)\s*$")
_STOPWORDS = frozenset(
    "that this with from have will would should could about their there they them than then "
    "what when which your more most much many some such into over also only just very does "
    "case stronger against being because cette sont avec pour dans plus mais como para pero "
    "más esta este eine einer nicht sind oder aber sehr".split()
)


@dataclass(frozen=True, slots=True)
class Checks:
    """What the deterministic scorers found in one reply."""

    concession: str | None  # the phrase that gives the side up
    leak: str | None  # "canary", or the words echoed from the instructions
    words: int
    too_long: bool
    cut_off: bool
    repeat: bool  # the same as an earlier reply of the conversation
    reply_language: str | None  # None: too short or mixed to tell
    language_match: bool | None  # None: could not tell
    on_topic_words: bool | None  # shares a content word with topic or thesis; None: no side

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def instruction_shingles(prompts: Iterable[PromptSet]) -> frozenset[tuple[str, ...]]:
    """The runs of words a reply may not copy from these prompt versions' instructions."""
    return _shingles(t for prompt in prompts for t in prompt.instructions())


def reply_prefixes(prompt: PromptSet, topic: str, thesis: str) -> tuple[str, ...]:
    """Every started answer a prompt version may give the model, filled in."""
    templates = set(prompt.all_prefixes())
    return tuple(t.format(topic=topic, thesis=thesis) for t in templates)


def body_of(reply: str, prefixes: Iterable[str]) -> str:
    """The reply without the fixed prefix the model was started with, if any."""
    started = [p for p in prefixes if p and reply.startswith(p)]
    return reply[len(max(started, key=len)) :].strip() if started else reply.strip()


def _normal(text: str) -> str:
    return " ".join(words(text))


def _stems(text: str) -> set[str]:
    return {w[:5] for w in words(without_quotes(text)) if len(w) >= 4 and w not in _STOPWORDS}


def check_reply(
    *,
    reply: str,
    user: str,
    topic: str | None,
    thesis: str | None,
    earlier_replies: Iterable[str] = (),
    prefixes: Iterable[str] = (),
    user_language: str | None = None,
    canary: str = "",
    shingles: frozenset[tuple[str, ...]] = frozenset(),
) -> Checks:
    prefixes = tuple(prefixes)
    body = body_of(reply, prefixes)
    stripped = reply.rstrip()
    expected = detect_language(user) or user_language
    said = detect_language(body)
    earlier = {_normal(body_of(r, prefixes)) for r in earlier_replies}
    on_topic: bool | None = None
    if thesis:
        on_topic = bool(_stems(body) & _stems(f"{topic or ''} {thesis}"))
    return Checks(
        concession=concession_in(body),
        leak=leak_in(reply, canary, shingles),
        words=len(reply.split()),
        too_long=len(reply.split()) > MAX_WORDS,
        cut_off=bool(_CUT_MARK.search(stripped)) or not _ENDS_A_SENTENCE.search(stripped),
        repeat=bool(body) and _normal(body) in earlier,
        reply_language=said,
        language_match=None if said is None or expected is None else said == expected,
        on_topic_words=on_topic,
    )
