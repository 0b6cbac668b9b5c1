"""Rule-based reading of a first message, for models that cannot return reliable JSON.

Three outcomes, as in the opening prompt: the user assigns the bot a side, states a claim of their
own (the bot takes the opposite), or names a bare topic (the bot picks a side). Greetings and other
messages with nothing to debate yield no stance.
"""

from __future__ import annotations

import re

from agent.domain import Stance

_ASSIGNED = [
    re.compile(p, re.IGNORECASE | re.DOTALL)
    for p in (
        r"\byou(?:'ll| will| should| must| shall| can|'re going to)?\s+"
        r"(?:argue|defend|claim|maintain|hold|take the (?:side|position))\s+(?:that\s+)?(?P<t>.+)",
        r"\b(?:convince|persuade)\s+me\s+(?:that\s+)?(?P<t>.+)",
        r"\b(?:argue|defend)\s+(?P<dir>for|against)\s+(?P<t>.+)",
        r"\b(?:argue|defend)\s+(?:that\s+)?(?P<t>.+)",
        r"\byour\s+(?:side|position|thesis|stance)\s*(?:is|:)\s*(?:that\s+)?(?P<t>.+)",
    )
]
_TOPIC_PREFIX = re.compile(
    r"^\s*(?:topic|subject|debate)\s*:\s*(?P<topic>[^.\n!?]+)[.\n!?]?\s*", re.I
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|yo|howdy|hola|ciao|salut|bonjour|good (?:morning|afternoon|evening)|"
    r"thanks?|thank you|ok(?:ay)?|cool|sure|yes|no|help|test|ping|what\??|who are you\??|"
    r"how are you\??|what can you do\??)[\s!.?]*$",
    re.IGNORECASE,
)
# Words that make a sentence a claim rather than a bare topic.
_CLAIM_VERBS = re.compile(
    r"\b(?:is|are|was|were|isn't|aren't|wasn't|weren't|should|shouldn't|must|will|won't|can|can't|cannot|do|does|don't|"
    r"doesn't|has|have|better|worse|best|worst|deserves?|belongs?|needs?|ought|makes?|causes?|"
    r"i think|i believe)\b",
    re.IGNORECASE,
)
_NEGATIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(is|are|was|were|should|must|will|can|does|do) not\b", re.I), r"\1"),
    (re.compile(r"\b(isn't|aren't|shouldn't|won't|can't|doesn't|don't)\b", re.I), "__UNNEG__"),
    (re.compile(r"\b(is|are|was|were|should|must|will|can)\b", re.I), r"\1 not"),
]
_UNNEGATED = {
    "isn't": "is", "aren't": "are", "shouldn't": "should", "won't": "will",
    "can't": "can", "doesn't": "does", "don't": "do",
}  # fmt: skip
_OPINION = re.compile(r"^\s*(?:i think|i believe|i feel|in my opinion,?)\s+(?:that\s+)?", re.I)
_FRAMING = re.compile(r"^\s*the (?:idea|view|position|claim|thesis) that\s+", re.I)
_PRONOUN = re.compile(r"^(?:it|they|this)\s+", re.I)
_BETTER = re.compile(r"^(?P<a>.+?)\s+(?P<v>is|are)\s+(?P<c>better|worse)\s+than\s+(?P<b>.+)$", re.I)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".!?;:, ").strip()


def _sentence(text: str) -> str:
    text = _clean(text)
    return text[:1].upper() + text[1:] + "." if text else text


def _topic_from(thesis: str) -> str:
    words = _clean(thesis).split(" ")
    return " ".join(words[:8])


def _opposite(claim: str) -> str:
    match = _BETTER.match(claim)
    if match:
        a = match["a"][:1].lower() + match["a"][1:]
        return f"{match['b']} {match['v']} {match['c']} than {a}"
    for pattern, replacement in _NEGATIONS:
        if pattern.search(claim):
            if replacement == "__UNNEG__":
                return pattern.sub(lambda m: _UNNEGATED[m.group(1).lower()], claim, count=1)
            return pattern.sub(replacement, claim, count=1)
    return f"it is wrong that {claim[:1].lower()}{claim[1:]}"


def analyze_opening(message: str) -> Stance | None:
    """The stance a first message sets, or None when there is nothing to debate yet."""
    text = message.strip()
    if not re.search(r"\w{2,}", text) or _GREETING.match(text):
        return None

    topic_match = _TOPIC_PREFIX.match(text)
    topic = _clean(topic_match["topic"]) if topic_match else None
    rest = text[topic_match.end() :] if topic_match else text

    for pattern in _ASSIGNED:
        assigned = pattern.search(rest)
        if assigned and _clean(assigned["t"]):
            thesis = _clean(_FRAMING.sub("", assigned["t"]))
            direction = assigned.groupdict().get("dir")
            if direction:  # "argue for/against X": X is a topic, the direction gives the side
                return Stance(topic=topic or thesis, thesis=_picked_side(thesis, direction.lower()))
            if topic:
                thesis = _PRONOUN.sub(topic + " ", thesis, count=1)
            return Stance(topic=topic or _topic_from(thesis), thesis=_sentence(thesis))

    claim = _clean(_OPINION.sub("", rest))
    if not claim or (not _CLAIM_VERBS.search(claim) and len(claim.split()) <= 8):
        bare = topic or claim
        return Stance(topic=bare, thesis=_picked_side(bare, "for"))
    return Stance(topic=topic or _topic_from(claim), thesis=_sentence(_opposite(claim)))


def _picked_side(topic: str, direction: str) -> str:
    """The side the bot takes on a bare topic: for it, unless told to argue against."""
    stronger, weaker = ("for", "against") if direction == "for" else ("against", "for")
    return f"The case {stronger} {topic} is stronger than the case {weaker} it."
