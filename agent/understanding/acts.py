"""What the user's latest message does in the debate, so that a small model's started answer
fits it: it opens the debate, presses the bot to give in, agrees, asks, wanders off the topic, or
argues.

Checked in that order; "argument" when nothing else fits. A started answer that says "I
disagree." is only given to a user who argued.
"""

from __future__ import annotations

import re
from typing import Literal

from agent.understanding.concessions import concession_in
from agent.understanding.language import words
from agent.understanding.text import reads_as_instruction

Act = Literal["opening", "pressure", "agreement", "question", "off_topic", "argument"]
ACTS: tuple[Act, ...] = ("opening", "pressure", "agreement", "question", "off_topic", "argument")

# Demands that the bot give in, in the languages Kopichat reads.
_PRESSURE = re.compile(
    r"(?<!\bi )(?<!\bi'll )\b(?:admit|concede|give up|face it|you(?:'re| are) wrong|you lost|"
    r"just agree|"
    r"are you (?:sure|serious)|stop arguing|admets|avoue|reconnais|tu as tort|vous avez tort|"
    r"admite|reconoce|te equivocas|estás equivocad[oa]|gib(?:'s)? zu|du liegst falsch|"
    r"du irrst dich|ammetti|hai torto|ti sbagli|admita|você está errad[oa]|estás errad[oa]|"
    r"признай|ты неправ|ты ошибаешься|сдавайся)\b",
    re.I,
)
_MIN_CONTENT_WORDS = 4  # fewer than this cannot tell that a message wandered off


# Frequent words that say nothing about a topic (long enough to pass for content words).
_FUNCTION_WORDS = frozenset(
    "that this with than have from they them their there what when where which would could "
    "should about also just very more most some your yours been were will into only really "
    "dans pour avec mais plus sont cette para como pero más esta este está sind nicht aber "
    "auch eine oder sono come anche questo della para como mais isso esta это что как".split()
)


def _stems(text: str) -> set[str]:
    """Content words, cut to five letters so that "dogs" meets "dog" and "banned" "ban"."""
    return {w[:5] for w in words(text) if len(w) >= 4 and w not in _FUNCTION_WORDS}


def user_act(
    message: str, topic: str, thesis: str, *, first_turn: bool = False, context: str = ""
) -> Act:
    """`first_turn`: the message is the one that set the stance (the bot states its side).
    `context`: the latest turns of the debate; a message that shares no word with them, nor
    with topic and thesis, has wandered off."""
    if first_turn:
        return "opening"
    if _PRESSURE.search(message) or reads_as_instruction(message):
        return "pressure"
    if concession_in(message) is not None:
        return "agreement"
    if "?" in message or "¿" in message:
        return "question"
    said = _stems(message)
    if len(said) >= _MIN_CONTENT_WORDS and not said & _stems(f"{topic} {thesis} {context}"):
        return "off_topic"
    return "argument"
