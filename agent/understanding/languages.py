"""The opening rules' other languages: French, Spanish, German, Italian, Portuguese, Russian.

For each: how a message assigns the bot its side ("Convaincs-moi que ..."), which words make a
sentence a claim, how to negate a one-verb claim in place, and "X rather than Y". Anything else
is negated by the general form in `claims` ("Il est faux de dire que ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Grammar:
    assign: tuple[re.Pattern[str], ...]  # group "t": the thesis the bot is given
    verbs: frozenset[str]  # finite verbs that make a sentence a claim
    negated: re.Pattern[str]  # a negation to take out
    rather: str  # "{a}" rather than "{b}", for comparisons
    negate: str  # how to negate: "before" (no/non/não/не), "after" (nicht), "french"
    # Endings of finite verbs in the tenses the list leaves out (past, future, conditional).
    tense_endings: str = ""
    # The subjunctive forms of the commonest verbs and their indicative ("soient" -> "sont"):
    # what follows "je ne pense pas que" reads as a sentence once they are swapped.
    subjunctive: tuple[tuple[str, str], ...] = ()


def _p(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I | re.S) for p in patterns)


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    tokens = text.split()
    return tuple(zip(tokens[::2], tokens[1::2], strict=True))


GRAMMARS: dict[str, Grammar] = {
    "fr": Grammar(
        assign=_p(
            r"\b(?:plaide|plaidez|argumente|argumentez)\s+(?P<dir>pour|contre)\s+(?P<t>.+)",
            r"\b(?:convaincs|convainquez|persuade|persuadez)[- ]moi\s+(?:que|qu['’])\s*(?P<t>.+)",
            r"\b(?:tu défends|vous défendez|défends|défendez|soutiens|soutenez|argumente|"
            r"argumentez)\s+(?:l['’]idée\s+)?(?:que|qu['’])\s*(?P<t>.+)",
        ),
        verbs=frozenset(
            "est sont était étaient sera seront doit doivent devrait devraient peut peuvent "
            "pourrait va vont a ont fait font reste restent mérite méritent faut vaut aura auront "
            "avait avaient".split()
        ),
        negated=re.compile(r"\b(?:ne\s+|n['’])(?P<v>\w+)\s+(?:pas|jamais|plus)(?:\s+|$)", re.I),
        rather="Mieux vaut {a} que {b}",
        negate="french",
        tense_endings="ait|aient|rait|raient|era|eront|ira|iront",
        subjunctive=_pairs(
            "soit est soient sont ait a aient ont fasse fait fassent font puisse peut puissent "
            "peuvent doive doit aille va aillent vont rende rend serve sert vaille vaut sache sait "
            "veuille veut"
        ),
    ),
    "es": Grammar(
        assign=_p(
            r"\b(?:argumenta|defiende|habla)\s+(?P<dir>a favor de|en contra de)\s+(?P<t>.+)",
            r"\b(?:convénceme|convenceme|persuádeme|persuademe)\s+(?:de\s+)?(?:que\s+)?(?P<t>.+)",
            r"\b(?:defiende|defienda|argumenta|sostén|sosten)\s+(?:la idea de\s+)?(?:que\s+)"
            r"(?P<t>.+)",
        ),
        verbs=frozenset(
            "es son era eran será serán está están debe deben debería deberían puede pueden "
            "podría va van tiene tienen hay hace hacen vale merece necesita necesitan ha han "
            "había habían fue fueron".split()
        ),
        negated=re.compile(r"\b(?:no|nunca|jamás)\s+", re.I),
        rather="Mejor {a} que {b}",
        negate="before:no",
        tense_endings="aba|aban|aría|arían|ería|erían|iría|irían|ará|arán|erá|erán|irá|irán|aron|ieron",
        subjunctive=_pairs(
            "sea es sean son esté está estén están haya ha hayan han tenga tiene tengan tienen "
            "pueda puede puedan pueden deba debe deban deben sirva sirve sirvan sirven vaya va "
            "vayan van haga hace hagan hacen valga vale exista existe existan existen"
        ),
    ),
    "de": Grammar(
        assign=_p(
            r"\b(?:argumentiere|argumentier|du argumentierst|sei)\s+(?P<dir>für|gegen)\s+(?P<t>.+)",
            r"\b(?:du argumentierst|argumentiere|du bist)\s+(?P<dir>dafür|dagegen)(?P<t>)",
            r"\b(?:überzeuge|überzeug|überzeugen sie)\s+mich\s*,?\s*(?:davon\s*,?\s*)?dass\s+"
            r"(?P<t>.+)",
            r"\b(?:verteidige|argumentiere|vertritt|vertrittst)\s*,?\s*(?:die (?:these|position|"
            r"meinung)\s*,?\s*)?dass\s+(?P<t>.+)",
            r"\b(?:du bist|du argumentierst|argumentiere)\s+dafür\s*,?\s*dass\s+(?P<t>.+)",
        ),
        verbs=frozenset(
            "ist sind war waren wird werden sollte sollten muss müssen kann können darf dürfen "
            "hat haben macht machen wäre wären würde würden hätte hätten könnte könnten gäbe gibt "
            "braucht brauchen bringt bringen".split()
        ),
        negated=re.compile(r"\b(?:nicht|nie|niemals)\s+", re.I),
        rather="Lieber {a} als {b}",
        negate="after:nicht",
    ),
    "it": Grammar(
        assign=_p(
            r"\b(?:argomenta|sostieni|difendi)\s+(?P<dir>a favore di|contro)\s+(?P<t>.+)",
            r"\b(?:convincimi|persuadimi)\s+(?:che\s+)?(?P<t>.+)",
            r"\b(?:difendi|sostieni|argomenta)\s+(?:l['’]idea\s+)?che\s+(?P<t>.+)",
        ),
        verbs=frozenset(
            "è sono era erano sarà saranno deve devono dovrebbe dovrebbero può possono ha "
            "hanno fa fanno vale merita fu furono".split()
        ),
        negated=re.compile(r"\b(?:non|mai)\s+", re.I),
        rather="Meglio {a} che {b}",
        negate="before:non",
        tense_endings="ava|avano|eva|evano|iva|ivano|rebbe|rebbero|rà|ranno",
        subjunctive=_pairs(
            "sia è siano sono abbia ha abbiano hanno possa può possano possono debba deve "
            "debbano devono serva serve servano servono faccia fa facciano fanno vada va vadano "
            "vanno renda rende rendano rendono"
        ),
    ),
    "pt": Grammar(
        assign=_p(
            r"\b(?:argumenta|argumente|defenda)\s+(?P<dir>a favor de|contra)\s+(?P<t>.+)",
            r"\b(?:convença-me|convence-me|me convença)\s+(?:de\s+)?(?:que\s+)?(?P<t>.+)",
            r"\b(?:defenda|defende)\s+(?:a ideia de\s+)?que\s+(?P<t>.+)",
        ),
        verbs=frozenset(
            "é são era eram será serão está estão deve devem deveria deveriam pode podem vai "
            "vão tem têm faz fazem vale merece foi foram".split()
        ),
        negated=re.compile(r"\b(?:não|nunca|jamais)\s+", re.I),
        rather="Melhor {a} do que {b}",
        negate="before:não",
        tense_endings="aria|ariam|eria|eriam|iria|iriam|ará|arão|erá|erão|avam|ou",
        subjunctive=_pairs(
            "seja é sejam são esteja está estejam estão tenha tem tenham têm possa pode possam "
            "podem deva deve devam devem faça faz façam fazem sirva serve sirvam servem"
        ),
    ),
    "ru": Grammar(
        assign=_p(
            r"(?:выступай|выступи|аргументируй|спорь)\s+(?P<dir>за|против)\s+(?P<t>.+)",
            r"(?:убеди|убедите|докажи|докажите)\s*(?:меня\s*)?,?\s*(?:что|в том,?\s*что)\s+"
            r"(?P<t>.+)",
            r"(?:защищай|защищайте|отстаивай|отстаивайте|(?:ты )?(?:доказываешь|защищаешь|"
            r"отстаиваешь))\s*,?\s*(?:идею\s*)?,?\s*(?:что|то,?\s*что)\s+(?P<t>.+)",
        ),
        verbs=frozenset(
            "лучше хуже должен должна должно должны нужно надо можно следует стоит является "
            "являются будет будут может могут есть был была было были".split()
        ),
        negated=re.compile(r"(?<!\w)(?:никогда\s+не|не)\s+", re.I),
        rather="{a} лучше, чем {b}",
        negate="before:не",
        tense_endings="ее|ше|же|ет|ут|ют|ит|ат|ят|ала|али|ило|ила|или",
    ),
}

_WORD = r"(?<!\w){}(?!\w)"
_GERMAN_ARTICLES = frozenset("der die das ein eine den dem des".split())
_GERMAN_DETERMINERS = _GERMAN_ARTICLES | frozenset(
    "einen einem einer eines kein keine keinen die meisten viele alle manche einige diese "
    "dieser dieses jede jeder jedes mehr wenige".split()
)
_VOWEL_START = re.compile(r"^[aeiouyhâàéèêîïôûœ]", re.I)


def _first_verb(text: str, verbs: frozenset[str]) -> re.Match[str] | None:
    found = [m for v in verbs if (m := re.search(_WORD.format(re.escape(v)), text, re.I))]
    return min(found, key=lambda m: m.start()) if found else None


def is_claim(text: str, language: str) -> bool:
    """Whether `text` has a finite verb: a known one, a negation, or a tense's ending."""
    grammar = GRAMMARS[language]
    if grammar.tense_endings and re.search(
        rf"(?<!\w)\w{{2,}}(?:{grammar.tense_endings})(?!\w)", text, re.I
    ):
        return True
    return _first_verb(text, grammar.verbs) is not None or bool(grammar.negated.search(text))


def indicative(clause: str, language: str) -> str | None:
    """`clause` with its one subjunctive verb made indicative ("la télé rende" -> "la télé
    rend"), or None when it has none of the known forms (then it cannot be told to read right)."""
    found = [
        (match, indicative_form)
        for subjunctive_form, indicative_form in GRAMMARS[language].subjunctive
        for match in re.finditer(_WORD.format(re.escape(subjunctive_form)), clause, re.I)
    ]
    if len(found) != 1:
        return None
    match, replacement = found[0]
    return clause[: match.start()] + replacement + clause[match.end() :]


# An impersonal modal and an infinitive: negated, a perfective infinitive must turn imperfective.
_RUSSIAN_MODAL_INFINITIVE = re.compile(
    r"(?:нужно|надо|можно|следует|стоит)\s+\w+(?:ть|ти|чь)\b", re.I
)


def negate_single_verb(claim: str, language: str) -> str | None:
    """The claim negated in place, when it has exactly one of the known verbs (None otherwise):
    its negation taken out, or one put in."""
    grammar = GRAMMARS[language]
    found = [m for v in grammar.verbs for m in re.finditer(_WORD.format(re.escape(v)), claim, re.I)]
    # Inside a sentence, a capital marks a name that spells like a verb ("São Paulo").
    found = [m for m in found if m.start() == 0 or not m.group(0)[0].isupper()]
    if len(found) != 1:
        return None
    negated = grammar.negated.search(claim)
    if negated:
        if grammar.negate == "french":
            return claim[: negated.start()] + negated["v"] + " " + claim[negated.end() :]
        return claim[: negated.start()] + claim[negated.end() :]
    verb = found[0]
    before, word, after = claim[: verb.start()], verb.group(0), claim[verb.end() :]
    before = _INTENSIFIER_BEFORE[language].sub("", before)
    after = _INTENSIFIER_AFTER[language].sub(r"\1", after)
    if language == "ru" and _RUSSIAN_MODAL_INFINITIVE.match(f"{word}{after}"):
        return None  # "нужно отменить" -> "не нужно отменять": the aspect changes too
    if grammar.negate == "french":
        return _french_negation(before, word, after)
    where, particle = grammar.negate.split(":")
    if where == "before":
        return f"{before}{particle} {word}{after}"
    indefinite = re.match(r"\s+(ein|eine|einen|einem|einer|eines)\b", after, re.I)
    if language == "de" and indefinite:  # "nicht ein Fehler" is "kein Fehler"
        return f"{before}{word} k{indefinite.group(1).lower()}{after[indefinite.end() :]}"
    return f"{before}{word} {particle}{after}"


# French puts "ne" before the object pronouns in front of the verb ("il n'y a pas", "on ne le
# dit pas", "il ne s'est pas trompé"), and an elided subject pronoun takes its full form
# ("c'est" -> "ce n'est pas", "j'ai" -> "je n'ai pas").
_FRENCH_CLITICS = re.compile(
    r"(?P<subject>(?<!\w)[cj]['’])?"
    r"(?P<objects>(?:(?<!\w)(?:[mtsl]['’]|(?:me|te|se|le|la|les|lui|leur|y|en)\s+))*)$",
    re.I,
)


def _french_negation(before: str, word: str, after: str) -> str:
    found = _FRENCH_CLITICS.search(before)
    assert found is not None  # every part of the pattern is optional
    head, objects = before[: found.start()], found["objects"]
    if found["subject"]:
        full = {"c": "ce ", "j": "je "}[found["subject"][0].lower()]
        head += full.capitalize() if found["subject"][0].isupper() else full
    following = objects or word
    particle = "n'" if _VOWEL_START.match(following) else "ne "
    return f"{head}{particle}{objects}{word} pas{after}"


# Words of degree next to the verb ("molto peggio", "total überbezahlt", "намного лучше"): the
# opposite of "X is totally overpaid" is "X is not overpaid", not "not totally overpaid". "Too"
# stays: the opposite of "too expensive" is "not too expensive".
INTENSIFIERS = {
    "en": "very really so totally completely absolutely way extremely already",
    "fr": "très vraiment tellement totalement complètement absolument déjà",
    "es": "muy realmente tan totalmente completamente absolutamente",
    "de": "sehr wirklich total völlig absolut echt extrem längst schon",
    "it": "molto davvero così totalmente completamente assolutamente ormai proprio già",
    "pt": "muito realmente tão totalmente completamente absolutamente",
    "ru": "очень совсем абсолютно совершенно намного гораздо уже",
}
_INTENSIFIER_AFTER = {
    language: re.compile(rf"^(\s+)(?:(?:{'|'.join(said.split())})\s+)+", re.I)
    for language, said in INTENSIFIERS.items()
}
_INTENSIFIER_BEFORE = {
    language: re.compile(rf"(?<!\w)(?:{'|'.join(said.split())})\s+$", re.I)
    for language, said in INTENSIFIERS.items()
}


_GERMAN_PRONOUNS = frozenset("man es er sie wir ihr du ich das dies".split())


def verb_first(clause: str) -> bool:
    """Whether a German clause opens with one of the known finite verbs."""
    first = clause.split()[:1]
    return bool(first) and first[0].lower() in GRAMMARS["de"].verbs


def verb_second(question: str) -> str:
    """A German yes/no question as the statement that answers yes: the finite verb goes after
    the subject ("Sollten Handys an Schulen verboten werden" -> "Handys sollten an Schulen
    verboten werden"). The subject is a pronoun, or an article, its adjectives and a noun (German
    nouns are capitalised), or a noun alone."""
    tokens = question.split()
    if len(tokens) < 3:
        return question
    verb, rest = tokens[0], tokens[1:]
    end = 1
    if rest[0].lower() in _GERMAN_ARTICLES:
        end = next((i + 1 for i in range(1, len(rest)) if rest[i][:1].isupper()), 0)
    elif rest[0].lower() not in _GERMAN_PRONOUNS and not rest[0][:1].isupper():
        return question
    if end == 0 or end >= len(rest):
        return question
    subject = " ".join(rest[:end])
    subject = subject[:1].upper() + subject[1:]
    return " ".join([subject, verb.lower(), *rest[end:]])


_FRENCH_INVERSION = re.compile(
    r"(?<!\w)(?P<v>\w+)-(?:t-)?(?P<p>il|elle|on|ils|elles|je|tu|nous|vous)(?!\w)", re.I
)


def french_statement(question: str) -> str:
    """A French question with an inverted subject as the statement that answers yes: "Faut-il
    X" -> "Il faut X"; "Les trottinettes sont-elles dangereuses" -> "Les trottinettes sont
    dangereuses" (the noun is the subject, the pronoun only repeats it)."""
    inverted = _FRENCH_INVERSION.search(question)
    if inverted is None:
        return question
    before, after = question[: inverted.start()].strip(), question[inverted.end() :]
    if before:
        return f"{before} {inverted['v']}{after}"
    pronoun = inverted["p"]
    return f"{pronoun[:1].upper()}{pronoun[1:].lower()} {inverted['v'].lower()}{after}"


def _german_subject_end(tokens: list[str]) -> int:
    """Where the subject ends: a pronoun or a noun is one word; after an article or a
    quantifier ("die meisten Menschen") it runs to the first noun, which German capitalises."""
    if tokens[0].lower() not in _GERMAN_DETERMINERS:
        return 1
    noun = next((i for i, t in enumerate(tokens[1:], 1) if t[:1].isupper()), None)
    return noun + 1 if noun is not None else 2


def main_clause_order(clause: str, language: str, *, verb_final: bool = False) -> str:
    """German "dass" clauses put the verb last ("Homeoffice besser ist als das Büro"); a thesis
    reads as a main clause, with the verb second. Only the clause before a first comma moves
    ("man Kinder zwingen sollte, ein Instrument zu lernen"). With `verb_final` (the caller read
    "dass"), a verb the list does not know is the clause's last word ("Veganer gesünder leben")."""
    if language != "de":
        return clause
    head, comma, rest = clause.partition(", ")
    tokens = head.split()
    if len(tokens) < 2:
        return clause
    verb = _first_verb(head, GRAMMARS["de"].verbs)
    index: int | None = None
    if verb_final and tokens[-1].lower() in GRAMMARS["de"].verbs:
        index = len(tokens) - 1  # "… abgeschafft werden sollten": the last verb is the finite one
    elif verb is not None:
        index = next((i for i, t in enumerate(tokens) if t.lower() == verb.group(0).lower()), None)
    else:
        index = len(tokens) - 1 if verb_final and len(tokens) >= 3 else None
    subject_end = _german_subject_end(tokens)
    if index is None or index <= subject_end:
        return clause
    moved = tokens.pop(index)
    tokens.insert(subject_end, moved)
    return " ".join(tokens) + comma + rest
