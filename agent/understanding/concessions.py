"""Giving the side up, and denying or attributing a claim, in each language Kopichat reads
(the stance guard and the evaluation both use them).

Concession phrases are matched case-insensitively outside quoted text. A phrase right after a
negation ("I don't agree", "no estoy de acuerdo") does not count, nor does a "yes, but": a
phrase followed in its sentence, or at the start of the next one, by a contrast ("You're right
that cats are clean, but …"), which grants a point and keeps the side.

A floor, not a measure: a reply can drift to the user's side without any of these words (the
offline model's usually do). tests/eval/guard.yaml measures how often they are right.
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
        "i can't argue with that", "both sides have a point", "i must admit", "i have to admit",
        "i'll admit", "i can't deny", "i cannot deny", "i'll give you that", "agree to disagree",
        "both have merits", "both sides have merit", "it's up to you", "you may be right",
        "you might be right", "maybe you're right", "you've persuaded me", "i'll concede",
        "fair enough", "i was mistaken", "i take it back",
    ),
    "fr": (
        "vous avez raison", "tu as raison", "je suis d'accord", "je te donne raison",
        "je vous donne raison", "vous m'avez convaincu", "tu m'as convaincu", "j'avais tort",
        "je me suis trompé", "je me suis trompée", "je concède", "je change d'avis",
        "je dois admettre", "je dois reconnaître", "je l'admets", "je le reconnais",
        "vous marquez un point", "tu marques un point",
    ),
    "es": (
        "tienes razón", "tiene razón", "tenéis razón", "estoy de acuerdo", "te doy la razón",
        "me has convencido", "me convenciste", "estaba equivocado", "estaba equivocada",
        "me equivoqué", "cambio de opinión", "lo admito", "debo admitir", "tengo que admitir",
        "lo reconozco",
    ),
    "de": (
        "du hast recht", "sie haben recht", "ihr habt recht", "ich stimme dir zu",
        "ich stimme ihnen zu", "ich gebe dir recht", "ich gebe ihnen recht",
        "du hast mich überzeugt", "sie haben mich überzeugt", "ich lag falsch",
        "ich habe mich geirrt", "ich habe unrecht", "ich muss zugeben", "ich gebe zu",
        "da hast du recht", "da haben sie recht",
    ),
    "it": (
        "hai ragione", "ha ragione", "avete ragione", "sono d'accordo", "ti do ragione",
        "mi hai convinto", "avevo torto", "mi sbagliavo", "ho cambiato idea", "devo ammettere",
        "lo ammetto",
    ),
    "pt": (
        "você tem razão", "tens razão", "tem razão", "concordo com você", "concordo contigo",
        "concordo", "você me convenceu", "me convenceu", "eu estava errado", "eu estava errada",
        "mudei de ideia", "tenho de admitir", "tenho que admitir", "devo admitir", "admito",
    ),
    "ru": (
        "ты прав", "ты права", "вы правы", "я согласен", "я согласна", "согласен с тобой",
        "согласна с тобой", "согласен с вами", "ты меня убедил", "вы меня убедили",
        "я был неправ", "я была неправа", "я ошибался", "я ошибалась", "признаю свою ошибку",
        "должен признать", "должна признать", "признаю", "вы меня переубедили",
    ),
}  # fmt: skip

# A negation just before a phrase turns it around ("I don't agree", "no estoy de acuerdo").
_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno|\bnon|\bnão|\bnicht|\bne|\bне|\bnie)\b\s*(?:\w+\s+)?$", re.I
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


# A contrast that turns a concession into "yes, but": the side is kept.
_CONTRAST = re.compile(
    r"\b(?:but|however|yet|still|though|although|nevertheless|mais|cependant|pourtant|"
    r"toutefois|pero|sin embargo|aunque|aber|jedoch|doch|trotzdem|ma|però|tuttavia|mas|porém|"
    r"contudo|todavia|но|однако|тем не менее)\b",
    re.I,
)
_BREAK = re.compile(r"[.!?;](?:\s|$)")


def _yes_but(text: str, end: int) -> bool:
    """Whether a contrast follows the phrase ending at `end`, in its sentence or at the start
    of the next one."""
    following = text[end:]
    stop = _BREAK.search(following)
    sentence = following[: stop.start()] if stop else following
    if _CONTRAST.search(sentence):
        return True
    if stop is None:
        return False
    return bool(_CONTRAST.match(following[stop.end() :].lstrip()))


# "I agree that X": agreement with one proposition, not with the user; whether X is the other
# side is the switched-side rule's business.
_AGREES = re.compile(r"agree|accord|acuerdo|concordo|соглас", re.I)
_COMPLEMENT = re.compile(
    r"^\s*(?:that|on|about|en que|sur|que|qu['’]|che|su|dass|darin|em que|что|с тем)\b", re.I
)


def concession_in(text: str) -> str | None:
    """The first concession phrase the text uses (outside quotes, not negated, not a "yes,
    but", not agreement with one stated proposition), or None."""
    unquoted = without_quotes(text)
    for phrase, pattern in _PATTERNS:
        for match in pattern.finditer(unquoted):
            before = unquoted[max(0, match.start() - 20) : match.start()]
            if _NEGATION_BEFORE.search(before) or _yes_but(unquoted, match.end()):
                continue
            if _AGREES.search(phrase) and _COMPLEMENT.match(unquoted[match.end() :]):
                continue
            return phrase
    return None


# Words that, before a claim in the same sentence, deny it or put it in someone else's mouth
# ("It is false that …", "Some people think …", "You say …"), and after it, deny it ("… is a
# myth"). Lower case, as `words` gives them.
_DENIED_OR_ATTRIBUTED_BEFORE = frozenset(
    """not no never nor false untrue wrong myth nonsense disagree deny denies doubt reject
    dispute mistaken incorrect contrary whether if say says said claim claims claimed think
    thinks thought believe believes argue argues suggest suggests idea notion people some many
    others critics opponents supporters you they pretend pretends
    ne pas jamais faux tort erroné dites disent pensent pensez prétendent prétendez idée certains
    nunca falso mito error dices dicen piensan crees creen idea algunos
    nicht kein keine falsch nie irrtum sagst sagen behauptest behaupten meinen glauben idee manche
    non mai sbagliato dici dicono pensano pensi alcuni
    não errado diz dizem acham acha ideia alguns
    не нет неверно ложь миф неправда никогда говорите говорят считают думают утверждают идея
    некоторые""".split()
)
_DENIED_AFTER = frozenset(
    "false wrong myth untrue nonsense faux falso falsch sbagliato errado неверно миф ложь".split()
)


def denied_or_attributed(before: list[str], after: list[str]) -> bool:
    """Whether the words around a claim in one sentence deny it or attribute it to others."""
    if any(w in _DENIED_OR_ATTRIBUTED_BEFORE or w.endswith("n't") for w in before):
        return True
    return (
        any(w in _DENIED_AFTER for w in after[:4])
        or after[:2] == ["is", "not"]
        or (after[:1] == ["n'est"])
    )
