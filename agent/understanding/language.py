"""The language of a text, to answer in the user's language and to check that a reply matches it.

Scripts decide first (Cyrillic, CJK, Arabic, Greek, Hebrew); Latin-script text goes to py3langid
(a maintained language identifier with its own model, restricted to the Latin-script languages
Kopichat reads, so that short messages are not taken for Catalan or Galician). A guess it is not
sure of (probability under 0.5: "ok", "lol", one word) is None rather than a guess.
"""

from __future__ import annotations

import re
import threading
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from stop_words import get_stop_words

if TYPE_CHECKING:
    from agent.understanding.langid_model import CompactIdentifier

_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
LATIN_LANGUAGES = ["en", "fr", "es", "de", "it", "pt", "nl"]
_SURE = 0.5
_SCRIPTS: list[tuple[str, re.Pattern[str]]] = [
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana: before CJK ideographs
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),  # or Ukrainian, told apart below
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
]


# The languages whose opening messages and replies Kopichat reads (the rules' languages).
READ_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "ru")


@cache
def function_words(languages: tuple[str, ...] = READ_LANGUAGES) -> frozenset[str]:
    """The function words ("the", "avec", "который") of the languages Kopichat reads (all of
    them by default), from a maintained list; loaded at first use."""
    return frozenset(
        word for language in languages for word in get_stop_words(language) if " " not in word
    )


_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")


def _script_language(text: str) -> str | None:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    for language, pattern in _SCRIPTS:
        matching = len(pattern.findall(text))
        # Ideographs carry a word each; alphabets need a real share of the letters.
        if matching and (language in {"ja", "zh", "ko"} or matching * 2 >= len(letters)):
            if language == "ru" and _UKRAINIAN.search(text):
                return "uk"
            return language
    return None


def words(text: str) -> list[str]:
    """The words of a text, lower-case, apostrophes kept ("don't", "c'est")."""
    return [w.replace("’", "'") for w in _WORDS.findall(text.lower())]


_LOADING = threading.Lock()


def _identifier() -> CompactIdentifier:
    with _LOADING:
        return _loaded_identifier()


@cache
def _loaded_identifier() -> CompactIdentifier:
    """Loaded once, at the first Latin-script text of a process: the compact copy in a few
    milliseconds (langid_model.py), else made from py3langid's file (about 0.5 s). Not on a
    thread at start: a daemon thread still loading at interpreter exit aborts the process, and
    a fork while it runs can fail."""
    from agent.understanding.langid_model import load_identifier

    return load_identifier(LATIN_LANGUAGES)


@lru_cache(maxsize=1024)  # a turn asks about the same message and reply more than once
def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text is too short or too mixed to tell."""
    by_script = _script_language(text)
    if by_script is not None:
        return by_script
    if not words(text):
        return None
    if re.search(r"[¿¡]", text):
        return "es"  # only Spanish opens questions and exclamations upside down
    language, probability = _identifier().classify(text)
    return str(language) if probability >= _SURE else None
