"""Sentence boundaries, from pysbd (rule-based sentence boundary disambiguation, maintained for
many languages): "U.S.", "Dr.", "e.g.", "vs.", "z.B.", "Sra." and decimals do not end a
sentence. A line break always does. Every part of Kopichat that splits text into sentences
(reading a first message, checking a thesis, tidying and judging replies) goes through here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

# pysbd's languages for the ones Kopichat reads; Portuguese shares Spanish's abbreviations
# closely enough, and anything else falls back to English rules.
_PYSBD_LANGUAGE = {"en": "en", "fr": "fr", "es": "es", "pt": "es", "de": "de", "it": "it"}
_PYSBD_LANGUAGE |= {"ru": "ru", "nl": "nl", "zh": "zh", "ja": "ja", "ar": "ar", "el": "el"}
# Abbreviations that pysbd knows in English but not in every language's rules ("vs." in French
# or Italian, "p. ex."): a segment ending in one does not end a sentence.
_NEVER_AN_END = re.compile(
    r"(?:^|\s)(?:vs|v|etc|cf|e\.g|i\.e|p\. ex|p|z\.B|bzw|usw|ca|approx)\.$", re.I
)
_END = re.compile(r"[.!?…\u3002\uff01\uff1f][\"'\u201d\u2019»)\]]*$")


@lru_cache(maxsize=16)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """The sentences of `text`, stripped, in order; `language` is an ISO 639-1 code."""
    segmenter = _segmenter(_PYSBD_LANGUAGE.get(language or "en", "en"))
    found: list[str] = []
    for line in text.splitlines():
        pieces = [s.strip() for s in segmenter.segment(line) if s.strip()]
        for piece in pieces:
            if found and _NEVER_AN_END.search(found[-1]) and not found[-1].endswith("etc."):
                found[-1] = f"{found[-1]} {piece}"
            else:
                found.append(piece)
    return found


def ends_a_sentence(text: str) -> bool:
    """Whether `text` ends with a sentence's end mark (closing quotes and brackets allowed)."""
    return bool(_END.search(text.rstrip()))
