"""Sentence boundaries, from pysbd (rule-based sentence boundary disambiguation, maintained for
many languages): "U.S.", "Dr.", "e.g.", "vs.", "z.B.", "Sra." and decimals do not end a
sentence. A line break always does. Every part of Kopichat that splits text into sentences
(reading a first message, checking a thesis, tidying and judging replies) goes through here.
"""

from __future__ import annotations

import re
import threading

import pysbd

# pysbd's languages for the ones Kopichat reads; Portuguese shares Spanish's abbreviations
# closely enough, and anything else falls back to English rules.
_PYSBD_LANGUAGE = {"en": "en", "fr": "fr", "es": "es", "pt": "es", "de": "de", "it": "it"}
_PYSBD_LANGUAGE |= {"ru": "ru", "nl": "nl", "zh": "zh", "ja": "ja", "ar": "ar", "el": "el"}
# Abbreviations that pysbd knows in English but not in every language's rules ("vs." in French
# or Italian, "p. ex."): a segment ending in one does not end a sentence.
_NEVER_AN_END = re.compile(
    r"(?:^|\s)(?:vs|v|cf|e\.g|i\.e|p\. ex|p|z\.B|bzw|usw|ca|approx)\.$", re.I
)
# A Segmenter keeps the text it works on in its own fields: one per thread (the offline model
# tidies replies on a thread of its own while requests split sentences on the event loop).
_SEGMENTERS = threading.local()
_END = re.compile(r"[.!?…\u3002\uff01\uff1f][\"'\u201d\u2019»)\]]*$")


def _segmenter(language: str) -> pysbd.Segmenter:
    mine: dict[str, pysbd.Segmenter] = _SEGMENTERS.__dict__.setdefault("by_language", {})
    if language not in mine:
        mine[language] = pysbd.Segmenter(language=language, clean=False)
    return mine[language]


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """The sentences of `text`, stripped, in order; `language` is an ISO 639-1 code."""
    segmenter = _segmenter(_PYSBD_LANGUAGE.get(language or "en", "en"))
    found: list[str] = []
    for line in text.splitlines():
        in_line: list[str] = []  # a line break always ends a sentence
        for piece in (s.strip() for s in segmenter.segment(line) if s.strip()):
            if in_line and _NEVER_AN_END.search(in_line[-1]):
                in_line[-1] = f"{in_line[-1]} {piece}"
            else:
                in_line.append(piece)
        found += in_line
    return found


def ends_a_sentence(text: str) -> bool:
    """Whether `text` ends with a sentence's end mark (closing quotes and brackets allowed)."""
    return bool(_END.search(text.rstrip()))
