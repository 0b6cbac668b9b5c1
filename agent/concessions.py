"""Phrases that give the side up, in each language Kopichat reads (the stance guard and the
evaluation both use them).

A floor, not a measure: a reply can drift to the user's side without any of these words (the
offline model's usually do), and a phrase list cannot see that. docs/evaluation.md says more.
Matched case-insensitively outside quoted text; a phrase right after a negation ("I don't
agree", "no estoy de acuerdo") does not count.
"""

from __future__ import annotations

import re

CONCESSIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "you're right", "you are right", "you're correct", "you are correct",
        "you're absolutely right", "you are absolutely right", "i agree with you", "i agree",
        "i concede", "you've convinced me", "you have convinced me", "you convinced me",
        "you win", "i was wrong", "i stand corrected", "i change my mind", "i've changed my mind",
        "i have changed my mind", "you have a point", "you've got a point", "i admit you",
        "i admit that you", "fair enough, you", "i'll switch sides", "you make a valid point",
        "i can't argue with that", "both sides have a point",
    ),
    "fr": (
        "vous avez raison", "tu as raison", "je suis d'accord", "je te donne raison",
        "je vous donne raison", "vous m'avez convaincu", "tu m'as convaincu", "j'avais tort",
        "je me suis trompé", "je me suis trompée", "je concède", "je change d'avis",
    ),
    "es": (
        "tienes razón", "tiene razón", "tenéis razón", "estoy de acuerdo", "te doy la razón",
        "me has convencido", "me convenciste", "estaba equivocado", "estaba equivocada",
        "me equivoqué", "cambio de opinión", "lo admito",
    ),
    "de": (
        "du hast recht", "sie haben recht", "ihr habt recht", "ich stimme dir zu",
        "ich stimme ihnen zu", "ich gebe dir recht", "ich gebe ihnen recht",
        "du hast mich überzeugt", "sie haben mich überzeugt", "ich lag falsch",
        "ich habe mich geirrt", "ich habe unrecht",
    ),
    "it": (
        "hai ragione", "ha ragione", "avete ragione", "sono d'accordo", "ti do ragione",
        "mi hai convinto", "avevo torto", "mi sbagliavo", "ho cambiato idea",
    ),
    "pt": (
        "você tem razão", "tens razão", "tem razão", "concordo com você", "concordo contigo",
        "concordo", "você me convenceu", "me convenceu", "eu estava errado", "eu estava errada",
        "mudei de ideia",
    ),
    "ru": (
        "ты прав", "ты права", "вы правы", "я согласен", "я согласна", "согласен с тобой",
        "согласна с тобой", "согласен с вами", "ты меня убедил", "вы меня убедили",
        "я был неправ", "я была неправа", "я ошибался", "я ошибалась", "признаю свою ошибку",
    ),
}  # fmt: skip

# A negation just before a phrase turns it around ("I don't agree", "no estoy de acuerdo").
_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno|\bnon|\bnão|\bnicht|\bne|\bне|\bnie)\s*(?:\w+\s+)?$", re.I
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“”]*[“”]|‘[^’]*’")
_PATTERNS = [
    (phrase, re.compile(r"(?<!\w)" + re.escape(phrase).replace("'", "['’]") + r"(?!\w)", re.I))
    for phrases in CONCESSIONS.values()
    for phrase in phrases
]


def without_quotes(text: str) -> str:
    """The text with quoted passages taken out: quoting the user is not agreeing with them."""
    return _QUOTED.sub(" ", text)


def concession_in(text: str) -> str | None:
    """The first concession phrase the text uses (outside quotes, not negated), or None."""
    unquoted = without_quotes(text)
    for phrase, pattern in _PATTERNS:
        for match in pattern.finditer(unquoted):
            if not _NEGATION_BEFORE.search(unquoted[max(0, match.start() - 20) : match.start()]):
                return phrase
    return None
