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

import functools
import re

# "…" stands for up to two words that are not a negation: "you're … right" also matches
# "you're absolutely right", "tienes … razón" matches "tienes toda la razón". Three kinds in
# each language: granting the user is right or has won; giving up; and "each side has its
# merits / a matter of taste", which leaves the side as surely as "you win".
CONCESSIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "you're … right", "you are … right", "you're … correct", "you are … correct",
        "you may … be right", "you might … be right", "maybe you're right", "i agree with you",
        "i agree", "i … concede", "you've … convinced me", "you have … convinced me",
        "you convinced me", "you've persuaded me", "you win", "i was wrong", "i was mistaken",
        "i stand corrected", "i … change my mind", "i've changed my mind", "i have changed my mind",
        "i take it back", "you have a point", "you've got a point", "i admit you",
        "i admit that you", "fair enough", "i'll switch sides", "you make a … point",
        "i can't argue with that", "i must admit", "i have to admit", "i'll admit", "i can't deny",
        "i cannot deny", "i'll give you that", "i give up", "i surrender", "you got me",
        "agree to disagree", "both … have … merits", "both sides have merit",
        "both sides have a point", "its pros and cons", "their pros and cons", "a matter of taste",
        "it's up to you", "each to their own", "no single right answer",
        "comes down to personal preference", "something to be said for both", "i take … back",
        "i overstated", "changed … my mind",
    ),
    "fr": (
        "vous avez … raison", "tu as … raison", "je suis … d'accord", "je te donne raison",
        "je vous donne raison", "vous m'avez … convaincu", "tu m'as … convaincu", "j'avais tort",
        "je me suis trompé", "je me suis trompée", "je … concède", "je change d'avis",
        "je dois … admettre", "je dois … reconnaître", "je l'admets", "je le reconnais",
        "vous marquez un point", "tu marques un point", "je capitule", "je m'incline",
        "tu as gagné", "vous avez gagné", "chacun ses goûts", "question de goût",
        "leurs avantages", "c'est à vous de voir", "c'est à toi de voir", "je vous l'accorde",
        "je te l'accorde", "je retire ce que", "pas de bonne réponse", "se défendent",
        "chacun voit midi à sa porte",
    ),
    "es": (
        "tienes … razón", "tiene … razón", "tenéis … razón", "tengas … razón", "tenga … razón",
        "estoy … de acuerdo", "te doy la razón", "me has … convencido", "me convenciste",
        "estaba equivocado", "estaba equivocada", "me equivoqué", "cambio de opinión",
        "lo admito", "debo admitir", "tengo que admitir", "lo reconozco", "te lo concedo",
        "me rindo", "has ganado", "cuestión de gustos", "depende de cada uno",
        "sus pros y sus contras", "sus ventajas y sus inconvenientes", "te lo compro",
        "no te falta razón", "me he equivocado", "retiro lo dicho", "no hay una respuesta correcta",
    ),
    "de": (
        "du hast … recht", "sie haben … recht", "ihr habt … recht", "ich stimme dir … zu",
        "ich stimme ihnen … zu", "ich gebe dir … recht", "ich gebe ihnen … recht",
        "du hast mich … überzeugt", "sie haben mich … überzeugt", "ich lag falsch",
        "ich habe mich geirrt", "ich habe unrecht", "ich muss … zugeben", "ich gebe zu",
        "da hast du … recht", "da haben sie … recht", "ich gebe auf", "du hast gewonnen",
        "geschmackssache", "seine vor- und nachteile", "ihre vor- und nachteile",
        "ich gebe mich geschlagen", "da ist … was dran", "ich nehme das zurück",
        "keine richtige antwort",
    ),
    "it": (
        "hai … ragione", "ha … ragione", "avete … ragione", "abbia … ragione",
        "sono … d'accordo", "ti do ragione", "mi hai … convinto", "avevo torto", "mi sbagliavo",
        "ho cambiato idea", "devo … ammettere", "lo ammetto", "mi arrendo", "hai vinto",
        "questione di gusti", "i suoi pro e contro", "i loro pro e contro",
        "mi hai fatto cambiare idea", "ritiro quanto detto", "ritiro quello che ho detto",
        "non c'è una risposta giusta",
    ),
    "pt": (
        "você tem … razão", "tens … razão", "tem … razão", "tenha … razão",
        "concordo com você", "concordo contigo", "concordo", "você me … convenceu",
        "me convenceu", "eu estava errado", "eu estava errada", "mudei de ideia",
        "tenho de admitir", "tenho que admitir", "devo admitir", "admito", "eu desisto",
        "você venceu", "cada um tem sua opinião", "depende de cada um", "seus prós e contras",
        "questão de gosto", "você me pegou", "retiro o que disse", "não há resposta certa",
        "me fez mudar de ideia",
    ),
    "ru": (
        "ты … прав", "ты … права", "вы … правы", "я … согласен", "я … согласна",
        "согласен с тобой", "согласна с тобой", "согласен с вами", "ты меня … убедил",
        "вы меня … убедили", "я был неправ", "я была неправа", "я ошибался", "я ошибалась",
        "признаю свою ошибку", "должен признать", "должна признать", "признаю",
        "вы меня переубедили", "сдаюсь", "ты победил", "вы победили", "дело вкуса",
        "свои плюсы", "беру свои слова назад", "убедили", "в этом что-то есть",
        "нет правильного ответа",
    ),
}  # fmt: skip

# A negation just before a phrase turns it around ("I don't agree", "no estoy de acuerdo").
_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno|\bnon|\bnão|\bnicht|\bne|\bне|\bnie)\b\s*(?:\w+\s+)?$", re.I
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“”]*[“”]|‘[^’]*’")
# The words between a phrase's parts: up to two, and neither a negation nor a "wrong"
# ("you're not right", "tu as tort") — checked after matching, which keeps the patterns cheap.
_GAP = r"((?:\s+[\w'’-]+){0,2})\s+"
_NOT_IN_GAP = frozenset(
    "not n't never no pas point nicht kein nunca non não не wrong tort falsch torto errado".split()
)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    parts = [re.escape(part.strip()).replace("'", "['’]") for part in phrase.split("…")]
    return re.compile(r"(?<!\w)" + _GAP.join(parts) + r"(?!\w)", re.I)


def _needle(phrase: str) -> str:
    """What a text must contain for the phrase's pattern to match: its first part, lower case,
    with one kind of apostrophe (the texts are searched the same way)."""
    return phrase.split("…")[0].strip().lower().replace("’", "'")


@functools.cache
def _needles() -> list[tuple[str, str]]:
    """Each phrase with its needle, in the order they are tried."""
    return [(_needle(phrase), phrase) for phrases in CONCESSIONS.values() for phrase in phrases]


@functools.cache
def _pattern(phrase: str) -> re.Pattern[str]:
    """Compiled the first time a reply contains the phrase's first part: a cold start compiles
    the few it meets, not all of them."""
    return _phrase_pattern(phrase)


def without_quotes(text: str) -> str:
    """The text with quoted passages taken out: quoting the user is not agreeing with them."""
    return _QUOTED.sub(" ", text)


# A contrast that turns a concession into "yes, but": the side is kept.
_CONTRAST = re.compile(
    r"\b(?:but|however|yet|still|though|although|nevertheless|mais|cependant|pourtant|"
    r"toutefois|pero|sin embargo|aunque|aber|jedoch|doch|trotzdem|ma|però|tuttavia|mas|porém|"
    r"contudo|todavia|но|однако|тем не менее)\b"
    # … or turns the point granted into an argument for the side ("and that is exactly why …")
    r"|\b(?:exactly|precisely) why\b|\bwhich is (?:exactly|precisely)\b|\bprécisément\b|"
    r"\bjustement\b|\b(?:genau|gerade) (?:deshalb|darum|deswegen)\b|\bproprio per questo\b|"
    r"\bименно (?:поэтому|потому)\b|\b(?:precisamente|justamente|exatamente) por (?:eso|isso)\b",
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


# "I agree that X", "you're right about X": one point granted, not the debate; whether X is
# the other side is the switched-side rule's business.
_GRANTS = re.compile(
    r"agree|accord|acuerdo|concordo|соглас|right|correct|raison|razón|recht|ragione|razão|прав",
    re.I,
)
_COMPLEMENT = re.compile(
    r"^\s*(?:that|on|about|en que|en eso|sur|que|qu['’]|che|su|sul\w*|dass|darin|damit|in|em|"
    r"no que|sobre|что|с тем|в том|насчёт)\b|^\s*,\s*(?:que|dass|che|что)\b",
    re.I,
)


def concession_in(text: str) -> str | None:
    """The first concession phrase the text uses (outside quotes, not negated, not a "yes,
    but", not agreement with one stated proposition), or None."""
    unquoted = without_quotes(text)
    haystack = unquoted.lower().replace("’", "'")
    for needle, phrase in _needles():
        if needle not in haystack:
            continue  # a cheap test first: most replies contain none of the phrases
        for match in _pattern(phrase).finditer(unquoted):
            before = unquoted[max(0, match.start() - 20) : match.start()]
            gaps = " ".join(g for g in match.groups() if g).lower().replace("’", "'").split()
            if any(w in _NOT_IN_GAP or w.endswith("n't") for w in gaps):
                continue
            if _NEGATION_BEFORE.search(before) or _yes_but(unquoted, match.end()):
                continue
            if _GRANTS.search(match.group(0)) and _COMPLEMENT.match(unquoted[match.end() :]):
                continue
            return " ".join(match.group(0).lower().replace("’", "'").split())
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
