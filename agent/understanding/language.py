"""A small, deterministic guess of a text's language, good enough to answer in the user's
language and to check that a reply matches it.

Scripts decide first (Cyrillic, CJK, Arabic, Greek, Hebrew); Latin-script text is scored by
frequent function words and letters that only some languages use. Short or mixed text gives
None rather than a guess.
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the is are was were and of to you your that it in not with for this be should would "
        "what have has i my me do does don't can will a an they we he she there think why how "
        "agree sure right wrong just about than more as on at by from or but so if all we us "
        "our people should".split()
    ),
    "fr": frozenset(
        "le la les des est et un une que qui pas ne je tu vous nous pour dans sur ce c'est sont "
        "du au aux avec mais très plus être avoir mon ton son moi toi suis es êtes ont ça cela "
        "n'est j'ai d'accord qu'il parce toujours jamais aussi tout tous toute leur leurs sans "
        "chez entre dois doit doivent faut peut peuvent veux l'idée".split()
    ),
    "es": frozenset(
        "el la los las es y un una que no de en por para con se lo son tú usted yo pero muy más "
        "está están como del al qué mi tu eso esto hay porque también estoy eres tienes".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ein eine ich du sie wir mit zu den dem sind auf für auch aber "
        "sehr mehr als es wie doch kein keine mir mich dich dir bin bist hat haben wird dass "
        "oder nur noch schon werden sollte sollten kann können muss müssen im zum zur vom "
        "beim".split()
    ),
    "it": frozenset(
        "il lo la gli le è e un una che non di per con sono ma molto più io tu del della sei "
        "questo come anche perché ho hai mi ti ci nel alla degli dei".split()
    ),
    "pt": frozenset(
        "o a os as é e um uma que não de em para com são mas muito mais eu você do da isso está "
        "como também porque tem estou meu minha seu sua na no pelo pela".split()
    ),
    "nl": frozenset(
        "de het een is en niet ik je van dat zijn met voor maar ook wat er naar dit wel geen "
        "jij we".split()
    ),
}
# Letters that point to a language (each adds to its score).
_LETTERS: dict[str, str] = {
    "fr": "çèêëîïôûœàùâ",
    "es": "ñ¿¡áíóú",
    "de": "äöüß",
    "it": "àèìòù",
    "pt": "ãõçáâêôà",
}
_SCRIPTS: list[tuple[str, re.Pattern[str]]] = [
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana: before CJK ideographs
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),  # or Ukrainian, told apart below
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
]


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


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text is too short or too mixed to tell."""
    by_script = _script_language(text)
    if by_script is not None:
        return by_script
    tokens = words(text)
    if not tokens:
        return None
    scores = {lang: sum(t in vocab for t in tokens) for lang, vocab in _FUNCTION_WORDS.items()}
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        scores[lang] += sum(2 for c in lowered if c in letters)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top == 0 or top == second:
        return None
    return best
