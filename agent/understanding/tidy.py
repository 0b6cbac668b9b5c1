"""Tidying a small model's raw reply: whole sentences, no list debris, no sentence it already said.

The offline model tends to number its points ("1. ... 2. ..."), to stop at the token limit in the
middle of a sentence or on a bare list number ("3."), to say again what it said a turn ago, and to
put words in the user's mouth ("as you mentioned earlier, ...", or a quotation nobody wrote).
These functions work on plain text and know nothing of the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

from agent.understanding.language import detect_language
from agent.understanding.sentences import ends_a_sentence, split_sentences

# "3." or "3)" or "-" or "*" at the start of a line: list debris.
_LIST_MARKER = re.compile(r"(?m)^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+")
_DANGLING_NUMBER = re.compile(r"(?:^|\s)\d{1,2}[.)]?\s*$")
_SPACES = re.compile(r"\s+")
# "As you said, ...", "..., as you mentioned earlier, ...": claims the user made, which they
# seldom did. Only as a clause set off by commas or the sentence's start or end, so that "things
# are not as you claimed" stays.
_ATTRIBUTION = re.compile(
    r"(?:^|(?<=[.!?])\s+|,\s*)as you(?:'ve| have)? (?:just |already )?"
    r"(?:mentioned|said|stated|pointed out|noted|claimed|suggested|admitted|agreed|argued)"
    r"(?: (?:earlier|before|above|previously|yourself))?(?:\s*,|(?=\s*[.!?]|\s*$))",
    re.IGNORECASE,
)
# A quotation of three words or more in double quotes (straight, curly or guillemets).
_QUOTATION = re.compile(
    r"[\"\u201c\u201e\u00ab]\s*([^\"\u201c\u201d\u00ab\u00bb]+?)\s*[\"\u201d\u00bb]"
)


def as_prose(text: str) -> str:
    """One paragraph: list markers dropped, line breaks and runs of spaces made single spaces."""
    return _SPACES.sub(" ", _LIST_MARKER.sub("", text)).strip()


def sentences(text: str) -> tuple[list[str], str]:
    """Prose split into whole sentences (each with its end mark; boundaries from pysbd, so
    "U.S." or "e.g." ends none) and the unfinished rest.

    A bare list number ("3.") is not a sentence: it is dropped."""
    found = [
        piece
        for piece in split_sentences(text, detect_language(text))
        if not _DANGLING_NUMBER.fullmatch(" " + piece)
    ]
    rest = found.pop() if found and not ends_a_sentence(found[-1]) else ""
    return found, _DANGLING_NUMBER.sub("", rest).strip()


def _normalized(sentence: str) -> str:
    return re.sub(r"[^\w]+", " ", sentence.casefold()).strip()


def drop_attributions(text: str, *, at_sentence_start: bool = True) -> str:
    """`text` without "as you said"-style clauses. `at_sentence_start`: whether `text` begins a
    sentence (False when it continues a started answer such as "That is true because")."""
    while match := _ATTRIBUTION.search(text):
        before, after = text[: match.start()].rstrip(), text[match.end() :].lstrip()
        opened_a_sentence = before.endswith((".", "!", "?")) if before else at_sentence_start
        if opened_a_sentence:
            after = after[:1].upper() + after[1:]
        joiner = "" if not before or after[:1] in ".,;:!?" else " "
        text = f"{before}{joiner}{after}"
    return text


def invents_a_quotation(sentence: str, quotable: str) -> bool:
    """Whether `sentence` quotes three words or more that are not in `quotable` (what the user
    wrote and the bot's own thesis)."""
    quotations = [_normalized(match.group(1)) for match in _QUOTATION.finditer(sentence)]
    quotations = [quoted for quoted in quotations if len(quoted.split()) >= 3]
    if not quotations:  # the usual case: nothing to look up
        return False
    source = f" {_normalized(quotable)} "
    return any(f" {quoted} " not in source for quoted in quotations)


def tidy_reply(
    prefix: str, generated: str, earlier_replies: list[str], *, cut_off: bool, quotable: str
) -> str:
    """The reply the user sees: `prefix` (the started answer, kept as is) plus the generated text
    as prose, without sentences the bot said in `earlier_replies`, without "as you said" clauses
    or sentences that quote what nobody wrote (in `quotable`), and, when the token limit cut it
    (`cut_off`), without the unfinished last sentence.

    If nothing new would be left, its first sentence is kept (a repeat is better than nothing)."""
    starts_sentence = not prefix or prefix.rstrip()[-1:] in ".!?"
    prose = drop_attributions(as_prose(generated), at_sentence_start=starts_sentence)
    whole, rest = sentences(prose)
    said = {_normalized(s) for reply in earlier_replies for s in sentences(as_prose(reply))[0]}
    said |= {_normalized(s) for s in sentences(prefix)[0]}
    fresh: list[str] = []
    for sentence in whole:
        key = _normalized(sentence)
        if key and key not in said and not invents_a_quotation(sentence, quotable):
            fresh.append(sentence)
            said.add(key)  # and not twice in this reply either
    fresh = fresh or whole[:1]
    if rest and not (cut_off and fresh):
        # A model that stopped by itself may end without a full stop; one cut off by the
        # token limit keeps its fragment only if nothing else is left, marked as cut.
        fresh.append(rest + "\u2026" if cut_off else rest)
    text = " ".join(_INLINE_NUMBER.sub(".", sentence) for sentence in fresh)
    if not prefix:
        return text
    if not text:
        # Nothing came after the started answer: end it at its last whole sentence, not on a
        # dangling "That is true because".
        whole_prefix = sentences(prefix)[0]
        return " ".join(whole_prefix) or prefix.strip()
    # A continuation that opens with punctuation ("because, as you said ...") joins without a space.
    joiner = "" if text[:1] in ",.;:!?)" else " "
    return f"{prefix}{joiner}{text}".strip()


# A list number left at the end of a sentence when the list was made prose ("... loyal 2.").
_INLINE_NUMBER = re.compile(r"(?<=\w)\s+\d{1,2}[.)]$")


NEAR_REPEAT = 0.9  # this alike (difflib's ratio) to an earlier reply counts as saying it again


def repeats(reply: str, earlier: Iterable[str]) -> bool:
    """Whether `reply` says again what one of the `earlier` replies said: the same words, or
    nearly the same (a small model's favourite failure, which a history full of it feeds)."""
    said = _normalized(reply)
    for other in map(_normalized, earlier):
        if said == other:
            return True
        if len(said) >= 40 and SequenceMatcher(None, said, other).ratio() >= NEAR_REPEAT:
            return True
    return False
