"""A user's claim, and the claim opposite to it, in the seven languages Kopichat reads.

Three things, the same way in every language:
- **Opinion markers** ("I think", "in my opinion", "je pense que") are taken off a claim;
  **denials** ("I don't think", "I doubt", "ich glaube nicht, dass") mean the user holds the
  opposite of what follows; **tag questions** ("…, right?", "…, n'est-ce pas ?", "…, oder?")
  ask for agreement with a claim, so they are a claim.
- **The opposite of a claim is always grammatical.** The negation is written into the claim only
  where that is provably safe: one clause (no "because/and/but/which…"), exactly one copula or
  modal verb (or one known verb in the other languages), and either a negation right after it
  to take out or none at all. Everywhere else the claim is kept word for word inside the
  language's general negation ("It is not true that …", "Неверно, что …"), which needs no
  grammar surgery.
- The same general negation is recognised when a user writes it, so its opposite is the claim
  inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from agent.understanding import english
from agent.understanding import languages as other
from agent.understanding.language import function_words, words


@dataclass(frozen=True, slots=True)
class ClaimGrammar:
    frame: str  # the general negation, with {claim}
    frame_pattern: re.Pattern[str]  # the same (and close variants), group "c": the claim
    clause_words: frozenset[str]  # words that open a second clause
    opinion: re.Pattern[str]  # "I think (that)": the claim follows
    denial: re.Pattern[str]  # "I don't think (that)": the opposite of what follows
    # Whether what follows a denial is a main clause as it stands. French, Spanish, Italian
    # and Portuguese put it in the subjunctive ("je ne pense pas qu'ils soient"): the bot asks.
    denial_keeps_mood: bool
    # "Do you think X?": the user asks the bot's view of X (the bot says yes to it) ...
    asks_view: re.Pattern[str]
    # ... and "Don't you think X?" presumes X: the user's own claim.
    presumes: re.Pattern[str]
    # "Some people say X." and, in the next sentence, the user's verdict on it.
    reported: re.Pattern[str]
    agrees: re.Pattern[str]
    disagrees: re.Pattern[str]
    # "I don't know": nothing to debate.
    unsure: re.Pattern[str]
    # The side the bot picks on a bare topic: for it, and against it.
    picked: tuple[str, str]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I | re.S)


GRAMMARS: dict[str, ClaimGrammar] = {
    "en": ClaimGrammar(
        frame="It is not true that {claim}",
        frame_pattern=_re(r"^(?:it is|it's) (?:not true|false|untrue|a myth) that\s+(?P<c>.+)$"),
        clause_words=frozenset(
            "because since and but although though while whereas which who whom whose if "
            "unless when whenever so or nor that".split()
        ),
        opinion=_re(
            r"^\s*(?:i (?:really |honestly |strongly |firmly )?(?:think|believe|feel|reckon|"
            r"guess|suppose|maintain|hold|say|bet)|ngl|tbh|"
            r"i'?m (?:pretty |quite |fairly |absolutely )?"
            r"(?:sure|convinced|certain)|i am (?:pretty |quite |fairly |absolutely )?(?:sure|"
            r"convinced|certain)|i'd say|in my (?:humble )?(?:opinion|view)|imo|imho|"
            r"personally|honestly|frankly|my (?:view|opinion|take|position) is|it seems to me|"
            r"(?:no ?one|nobody|you) (?:can|will|could) (?:ever )?(?:convince|persuade) me|"
            r"you(?:'ll| will) never (?:convince|persuade) me)\b\s*,?\s*(?:that\s+|of\s+|"
            r"(?<=feel )like\s+)?"
        ),
        denial=_re(
            r"^\s*(?:i (?:really |just )?(?:don't|do not|can't|cannot) (?:really )?(?:think|"
            r"believe|agree|accept|buy)|i (?:doubt|disagree|deny|dispute|reject)|i'?m not "
            r"(?:at all )?(?:convinced|sure|persuaded)|i am not (?:at all )?(?:convinced|sure|"
            r"persuaded)|there(?:'s| is) no way|no way|it(?:'s| is) impossible)\b\s*,?\s*"
            r"(?:with the (?:idea|claim|view) |the (?:idea|claim|view) )?"
            r"(?:that\s+|whether\s+|of\s+)?"
        ),
        denial_keeps_mood=True,
        asks_view=_re(r"^(?:do|would) you (?:think|believe|agree|reckon)\s+(?:that\s+)?(?P<t>.+)$"),
        presumes=_re(
            r"^(?:(?:don't|do not|wouldn't) you (?:think|believe|agree)|(?:isn't|is it not) it "
            r"(?:obvious|clear)|can(?:'t)? we (?:all )?agree|didn't we all learn)\s+(?:that\s+)?"
            r"(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:say|says|said|keep saying|keeps saying|think|thinks|claim|"
            r"claims|insist|insists|believe|believes)\s+(?:that\s+)?(?P<c>.+)$"
        ),
        agrees=_re(
            r"^(?:honestly,?\s*)?(?:and )?(?:(?:he|she|they)(?:'s|'re| is| are| was| were)"
            r"(?: \w+)? right|i agree|true|exactly)\b"
        ),
        disagrees=_re(
            r"^(?:honestly,?\s*)?(?:i (?:totally |strongly |completely )?disagree|i don't buy it|"
            r"i'm not (?:so )?sure|nonsense|(?:he|she|they)(?:'s|'re| is| are| was| were)(?: \w+)? "
            r"wrong|not true|"
            r"(?:he|she|they)(?:'s|'re| is| are)? (?:exaggerat\w*|overstat\w*))\b"
        ),
        unsure=_re(r"^(?:i )?(?:don't|do not) know\b|^(?:i )?dunno\b|^no idea\b|^not sure\b"),
        picked=(
            "The case for {topic} is stronger than the case against it",
            "The case against {topic} is stronger than the case for it",
        ),
    ),
    "fr": ClaimGrammar(
        frame="Il est faux de dire que {claim}",
        frame_pattern=_re(
            r"^(?:il est faux (?:de dire )?|ce n['’]est pas vrai |il n['’]est pas vrai )"
            r"(?:que\s+|qu['’])(?P<c>.+)$"
        ),
        clause_words=frozenset(
            "parce car et mais qui quand si puisque lorsque bien dont où ou donc".split()
        ),
        opinion=_re(
            r"^\s*(?:je (?:pense|crois|trouve|suis (?:sûre|sûr|convaincue|convaincu))|"
            r"à mon avis,?|selon moi,?|pour moi,?|personnellement,?|franchement,?|"
            r"honnêtement,?)\s*(?:que\s+|qu['’])?"
        ),
        denial=_re(  # spoken French drops the "ne": "je crois pas que"
            r"^\s*(?:je (?:ne |n['’])?(?:pense|crois|trouve|suis) pas (?:du tout )?"
            r"(?:convaincue?\s+|sûre?\s+|certaine?\s+|d['’]accord\s+(?:avec l['’]idée\s+)?)?|"
            r"je doute|(?:il est |c['’]est )?impossible)\s*(?:que\s+|qu['’])"
        ),
        denial_keeps_mood=False,
        asks_view=_re(
            r"^(?:est-ce que )?(?:tu penses|tu crois|tu trouves|vous pensez|vous croyez|"
            r"penses-tu|crois-tu|pensez-vous)\s+(?:que\s+|qu['’])(?P<t>.+)$"
        ),
        presumes=_re(
            r"^(?:tu ne (?:penses|crois|trouves) pas|ne (?:penses|crois)-tu pas|n['’]est-il pas "
            r"(?:évident|clair)|(?:ce )?n['’]est pas évident)\s+(?:que\s+|qu['’])(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:dit|disent|me dit|me disent|pense|pensent|affirme|"
            r"affirment|prétend|prétendent|répète|répètent)\s+(?:que\s+|qu['’])(?P<c>.+)$"
        ),
        agrees=_re(
            r"^(?:et )?(?:il|elle|ils|elles) (?:a|ont|avait|avaient)(?: \w+)? raison\b|"
            r"^je suis d['’]accord\b|"
            r"^c['’]est vrai\b"
        ),
        disagrees=_re(
            r"^(?:mais )?(?:je ne suis pas d['’]accord|je ne suis pas convaincue?|"
            r"je ne (?:le )?crois pas|n['’]importe quoi|"
            r"(?:il|elle|ils|elles) (?:a|ont)(?: \w+)? tort|"
            r"(?:il|elle|ils|elles) exag[èe]r\w*)\b"
        ),
        unsure=_re(r"^(?:je ne sais pas|je sais pas|aucune idée|bof)\b"),
        picked=(
            "Les arguments pour {topic} l'emportent sur les arguments contre",
            "Les arguments contre {topic} l'emportent sur les arguments pour",
        ),
    ),
    "es": ClaimGrammar(
        frame="Es falso decir que {claim}",
        frame_pattern=_re(r"^(?:es falso (?:decir )?|no es (?:cierto|verdad) )que\s+(?P<c>.+)$"),
        clause_words=frozenset("porque y pero aunque cuando si pues ya quien cual donde o".split()),
        opinion=_re(
            r"^\s*(?:(?:yo )?(?:creo|pienso|opino)|estoy (?:seguro|segura|convencido|"
            r"convencida)(?: de)?|en mi opinión,?|para mí,?|personalmente,?)\s*(?:que\s+)?"
        ),
        denial=_re(
            r"^\s*(?:no (?:creo|pienso|opino|estoy de acuerdo (?:en|con)|estoy (?:nada )?"
            r"(?:convencid[oa]|segur[oa]))|dudo|(?:es )?imposible)\s+(?:de\s+|(?:la idea de\s+))?"
            r"que\s+"
        ),
        denial_keeps_mood=False,
        asks_view=_re(
            r"^(?:¿\s*)?(?:tú |usted )?(?:crees|piensas|cree|piensa|opinas)\s+que\s+(?P<t>.+)$"
        ),
        presumes=_re(
            r"^(?:¿\s*)?no (?:crees|piensas|cree|es (?:obvio|evidente|claro))\s+que\s+(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:dice|dicen|me dice|me dicen|piensa|piensan|cree|creen|"
            r"asegura|aseguran|insiste en|insisten en)\s+que\s+(?P<c>.+)$"
        ),
        agrees=_re(r"^(?:y )?tiene(?:n)?(?: \w+)? razón\b|^estoy de acuerdo\b|^es verdad\b"),
        disagrees=_re(
            r"^(?:pero )?(?:yo )?no estoy (?:tan )?(?:de acuerdo|seguro|segura)\b|^no es verdad\b|"
            r"^se equivoca(?:n)?\b|^(?:él |ella )?exagera(?:n)?\b"
        ),
        unsure=_re(r"^(?:no sé|ni idea)\b"),
        picked=(
            "Los argumentos a favor de {topic} pesan más que los argumentos en contra",
            "Los argumentos en contra de {topic} pesan más que los argumentos a favor",
        ),
    ),
    "de": ClaimGrammar(
        frame="Die Behauptung „{claim}“ ist falsch",
        frame_pattern=_re(
            r"^(?:es stimmt nicht|es ist falsch|es ist nicht wahr)\s*,\s*dass\s+(?P<c>.+)$"
        ),
        clause_words=frozenset("weil dass und aber obwohl wenn denn ob sondern oder da".split()),
        opinion=_re(
            r"^\s*(?:ich (?:denke|glaube|finde|meine|bin (?:sicher|überzeugt))|meiner meinung "
            r"nach|für mich|ehrlich gesagt)\s*,?\s*(?:(?:davon\s*,?\s*)?dass\s+)?"
        ),
        denial=_re(
            r"^\s*(?:ich (?:denke?|glaube?|finde|meine) nicht|ich bezweifle|ich bin (?:mir )?nicht "
            r"(?:so )?(?:sicher|überzeugt|einverstanden)|ich stimme nicht zu|es ist unmöglich)"
            r"\s*,?\s*"
            r"(?:(?:davon\s*,?\s*|damit\s*,?\s*)?dass\s+)?"
        ),
        denial_keeps_mood=True,
        asks_view=_re(r"^(?:glaubst|denkst|findest|meinst) du\s*,?\s*(?:dass\s+)?(?P<t>.+)$"),
        presumes=_re(
            r"^(?:(?:glaubst|denkst|findest) du nicht|ist es nicht (?:offensichtlich|klar))\s*,?\s*"
            r"(?:dass\s+)?(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:sagt|sagen|meint|meinen|glaubt|glauben|behauptet|"
            r"behaupten)\s*,?\s*(?:dass\s+)?(?P<c>.+)$"
        ),
        agrees=_re(
            r"^(?:und )?(?:er|sie) (?:hat|haben|hatte|hatten)(?: \w+)? recht\b|"
            r"^(?:da )?(?:hat|haben|hatte) (?:er|sie)(?: \w+)? recht\b|^ich stimme (?:zu|dem zu)\b|"
            r"^stimmt\b"
        ),
        disagrees=_re(
            r"^(?:aber )?(?:ich sehe das anders|ich bin (?:da )?anderer meinung|das stimmt nicht|"
            r"(?:er|sie) (?:irrt|irren) sich|quatsch|(?:er|sie) übertreib(?:t|en)|"
            r"(?:da )?(?:hat|liegt) (?:er|sie)(?: \w+)? (?:unrecht|falsch))\b"
        ),
        unsure=_re(r"^(?:ich weiß (?:es )?nicht|keine ahnung)\b"),
        picked=(
            "Die Argumente für {topic} wiegen schwerer als die dagegen",
            "Die Argumente gegen {topic} wiegen schwerer als die dafür",
        ),
    ),
    "it": ClaimGrammar(
        frame="È falso dire che {claim}",
        frame_pattern=_re(r"^(?:è falso (?:dire )?|non è vero )che\s+(?P<c>.+)$"),
        clause_words=frozenset("perché e ma anche quando poiché se o quindi cui".split()),
        opinion=_re(
            r"^\s*(?:(?:io )?(?:penso|credo|trovo)|(?:io )?sono (?:sicuro|sicura|convinto|"
            r"convinta)|"
            r"secondo me,?|per me,?|a mio parere,?)\s*(?:che\s+)?"
        ),
        denial=_re(
            r"^\s*(?:non (?:penso|credo|sono (?:per niente )?(?:convint[oa]|sicur[oa]|cert[oa]|"
            r"d['’]accordo(?: sul fatto)?))|dubito|(?:è )?impossibile)\s+che\s+"
        ),
        denial_keeps_mood=False,
        asks_view=_re(
            r"^(?:secondo te|per te|tu pensi che|pensi che|credi che|"
            r"tu credi che)\s*,?\s*(?P<t>.+)$"
        ),
        presumes=_re(
            r"^non (?:pensi|credi|trovi|è (?:ovvio|chiaro|evidente)) (?:anche tu )?che\s+(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:dice|dicono|mi dice|mi dicono|pensa|pensano|sostiene|"
            r"sostengono|crede|credono)\s+che\s+(?P<c>.+)$"
        ),
        agrees=_re(r"^(?:e )?ha(?:nno)?(?: \w+)? ragione\b|^sono d['’]accordo\b|^è vero\b"),
        disagrees=_re(
            r"^(?:ma )?(?:non sono d['’]accordo|non ne sono (?:così )?(?:sicuro|sicura)|"
            r"si sbaglia(?:no)?|non è vero|esagera(?:no)?)\b"
        ),
        unsure=_re(r"^(?:non (?:lo )?so|non saprei|boh)\b"),
        picked=(
            "Gli argomenti a favore di {topic} sono più forti di quelli contro",
            "Gli argomenti contro {topic} sono più forti di quelli a favore",
        ),
    ),
    "pt": ClaimGrammar(
        frame="É falso dizer que {claim}",
        frame_pattern=_re(r"^(?:é falso (?:dizer )?|não é verdade )que\s+(?P<c>.+)$"),
        clause_words=frozenset("porque e mas embora quando se pois ou quem onde".split()),
        opinion=_re(
            r"^\s*(?:(?:eu )?(?:acho|penso|creio|acredito)|tenho certeza(?: de)?|estou "
            r"(?:convencido|convencida)(?: de)?|na minha opinião,?|para mim,?)\s*(?:que\s+)?"
        ),
        denial=_re(
            r"^\s*(?:não (?:acho|penso|creio|acredito|concordo|estou (?:nada )?(?:convencid[oa]|"
            r"segur[oa]|cert[oa]|de acordo))|duvido|(?:é )?impossível)\s+(?:de\s+|com "
            r"(?:a ideia de\s+)?)?que\s+"
        ),
        denial_keeps_mood=False,
        asks_view=_re(
            r"^(?:será que|você acha que|vc acha q|tu achas que|acha que|"
            r"você acredita que)\s+(?P<t>.+)$"
        ),
        presumes=_re(
            r"^(?:(?:você|vc|tu) (?:não|nao) (?:acha|achas|acredita)|"
            r"não é (?:óbvio|claro|evidente)) (?:que|q)\s+(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:diz|dizem|me diz|acha|acham|afirma|afirmam|garante|"
            r"garantem)\s+que\s+(?P<c>.+)$"
        ),
        agrees=_re(
            r"^(?:e )?(?:ele|ela|eles|elas) (?:tem|têm|tinha)(?: \w+)? razão\b|^concordo\b|"
            r"^é verdade\b"
        ),
        disagrees=_re(
            r"^(?:mas )?(?:não concordo|discordo|não é verdade|(?:ele|ela|eles|elas) (?:está|"
            r"estão) errad[oa]s?|(?:ele |ela )?exagera(?:m)?)\b"
        ),
        unsure=_re(r"^(?:não sei|sei lá|nem sei)\b"),
        picked=(
            "Os argumentos a favor de {topic} são mais fortes do que os contra",
            "Os argumentos contra {topic} são mais fortes do que os a favor",
        ),
    ),
    "ru": ClaimGrammar(
        frame="Неверно, что {claim}",
        frame_pattern=_re(r"^(?:неверно|неправда|это неправда)\s*,\s*что\s+(?P<c>.+)$"),
        clause_words=frozenset(
            "потому и но хотя если когда который которая которое которые что чтобы или а".split()
        ),
        opinion=_re(
            r"^\s*(?:я (?:думаю|считаю|уверена|уверен|полагаю)|по-моему|мне кажется|имхо|кмк|"
            r"на мой взгляд)\s*,?\s*(?:что\s+)?"
        ),
        denial=_re(
            r"^\s*(?:(?:я )?не (?:думаю|считаю|верю|уверена|уверен|согласна|согласен)|"
            r"я сомневаюсь|сомневаюсь)"
            r"\s*,?\s*(?:(?:в том\s*,\s*)?что\s+)?"
        ),
        denial_keeps_mood=True,
        asks_view=_re(
            r"^(?:ты думаешь|вы думаете|как думаешь|как вы думаете|по-твоему|"
            r"по-вашему)\s*,?\s*(?:что\s+)?(?P<t>.+)$"
        ),
        presumes=_re(
            r"^(?:ты не думаешь|не кажется ли тебе|не кажется ли вам|разве не (?:очевидно|ясно))"
            r"\s*,?\s*(?:что\s+)?(?P<t>.+)$"
        ),
        reported=_re(
            r"^(?P<who>.{2,40}?)\s+(?:говорит|говорят|считает|считают|думает|думают|утверждает|"
            r"утверждают)\s*,?\s*(?:что\s+)?(?P<c>.+)$"
        ),
        agrees=_re(
            r"^(?:и )?(?:он|она|они)(?: \w+)? (?:прав|права|правы)\b|^согласен\b|^согласна\b|"
            r"^это правда\b"
        ),
        disagrees=_re(
            r"^(?:а )?(?:я (?:с этим )?не согласен|я (?:с этим )?не согласна|я так не думаю|"
            r"это неправда|(?:он|она|они) (?:ошибается|ошибаются|преувеличива\w+))\b"
        ),
        unsure=_re(r"^(?:ну )?(?:не знаю|без понятия)\b"),
        picked=(
            "Доводы за {topic} сильнее доводов против",
            "Доводы против {topic} сильнее доводов за",
        ),
    ),
}


def grammar(language: str) -> ClaimGrammar | None:
    return GRAMMARS.get(language)


# Question words of the seven languages: a question they open has no yes or no for an answer.
_WH = (
    r"who|what|when|where|why|how|which|pourquoi|comment|quand|où|qui|quel|quelle|quels|quelles|"
    r"combien|por qué|cómo|cuándo|dónde|quién|qué|cuál|cuánto|warum|wieso|weshalb|wie|wann|wo|"
    r"wer|was|welche|welcher|welches|perché|come|quando|dove|chi|cosa|quale|quanto|por que|"
    r"porque|onde|quem|qual|quanto|почему|как|когда|где|кто|что|какой|какая|какие|зачем|сколько"
)
_WH_START = re.compile(rf"^\W*(?:{_WH})\b", re.I)
# ... and a question proper, wh- or yes/no: "Should we ban the casino?" has no tag.
_QUESTION_START = re.compile(
    rf"^\W*(?:{_WH}|is|are|was|were|do|does|did|can|could|will|would|should|shall|has|have|"
    r"est-ce)\b",
    re.I,
)


def unsure(text: str) -> bool:
    """Whether a (lower-case) message says "I don't know" in any language Kopichat reads: a
    one-word "boh" or "bof" is too short to tell its language by."""
    return any(rules.unsure.match(text) for rules in GRAMMARS.values())


def asks_what(question: str) -> bool:
    """Whether a question opens with a question word ("Why …?", "Warum …?", "Почему …?")."""
    return bool(_WH_START.match(question))


# A tag question's tail: a few words after the claim's last comma, then "?" ("…, right?",
# "…, n'est-ce pas ?", "…, ¿o sí?", "…, разве нет?", "…, isn't it?"), in any language.
_TAG_TAIL = re.compile(r",\s*¿?\s*(?P<tail>[^,?¿]{1,40}?)\s*\?+\s*$")
_MAX_TAG_WORDS = 4
_NOT_A_TAG = frozenset("but mais pero aber ma mas но".split())  # "…, but are they smart?"


def without_tag(text: str, language: str) -> str | None:
    """The claim of a tag question ("Cats are better, right?" -> "Cats are better"), or None
    when `text` has no tag. The tag follows a comma, and a question proper has none."""
    found = _TAG_TAIL.search(text)
    if found is None or language not in GRAMMARS:
        return None
    tail = words(found["tail"])
    if not tail or len(tail) > _MAX_TAG_WORDS or tail[0] in _NOT_A_TAG or asks_what(found["tail"]):
        return None
    claim = text[: found.start()].strip().lstrip("¿").strip()
    if len(words(claim)) < 2 or _QUESTION_START.match(claim):
        return None
    return claim


def framed(text: str, language: str) -> str | None:
    """The claim inside a general negation ("It is not true that X" -> "X"), else None."""
    rules = GRAMMARS.get(language)
    if rules is None:
        return None
    text = text.strip().rstrip(".!")
    match = rules.frame_pattern.match(text)
    if match:
        return match["c"]
    quoted = re.fullmatch(re.escape(rules.frame).replace(r"\{claim\}", "(?P<c>.+)"), text, re.I)
    return quoted["c"] if quoted else None


def frame(claim: str, language: str) -> str:
    """`claim` inside the language's general negation, word for word."""
    template = GRAMMARS[language].frame if language in GRAMMARS else GRAMMARS["en"].frame
    if language != "de":  # German nouns keep their capital
        claim = lower_first(claim)
    if language == "fr" and re.match(r"^[aeiouyhâàéèêîïôûœ]", claim, re.I):
        template = template.replace("que {claim}", "qu'{claim}")
    return template.format(claim=claim)


def lower_first(text: str) -> str:
    """'Cats are' -> 'cats are'; 'AI will', 'iPhone', 'I' and names after 'I' stay."""
    if len(text) > 1 and (text[1].isupper() or not text[0].isupper()):
        return text
    if re.match(r"^I\b", text):
        return text
    return text[:1].lower() + text[1:]


def _one_clause(claim: str, rules: ClaimGrammar) -> bool:
    if re.search(r"[,;:()\"“”«»„]", claim):
        return False
    return not set(words(claim)) & rules.clause_words


_EN_AUX_WORDS = frozenset(
    "is are was were am will would should must can could may might shall".split()
)
_EN_NEGATED = {**english.CONTRACTIONS, "cannot": "can"}
_EN_NEGATIONS = frozenset("not never no nothing nobody none neither nor without".split())
_PREPOSITIONS = frozenset("at in on for with by from about of to during".split())
_BETTER = re.compile(
    r"^(?P<a>.+?)\s+(?P<v>is|are|was|were)\s+(?P<c>better|worse|superior|inferior)\s+"
    r"(?P<p>than|to)\s+(?P<b>.+)$",
    re.I,
)


def _swapped_comparison(claim: str) -> str | None:
    """'Cats are better than dogs' -> 'Dogs are better than cats'."""
    better = _BETTER.match(claim)
    if better is None or set(words(f"{better['a']} {better['b']}")) & _EN_NEGATIONS:
        return None  # "Nothing is better than pizza" has no swapped opposite
    if len(words(better["b"])) > 3 or set(words(better["b"])) & _PREPOSITIONS:
        return None  # "… than dogs at hunting": what follows the side would move with it
    a, b, verb = lower_first(better["a"]), better["b"], better["v"].lower()
    plural = (b.lower().endswith("s") and not b.lower().endswith("ss")) or " and " in b
    if verb in {"is", "are"}:
        verb = "are" if plural else "is"
    elif verb in {"was", "were"}:
        verb = "were" if plural else "was"
    return f"{b[:1].upper()}{b[1:]} {verb} {better['c']} {better['p']} {a}"


def _direct_english(claim: str) -> str | None:
    tokens = claim.split()
    low = [t.lower().replace("’", "'") for t in tokens]
    auxes = [i for i, t in enumerate(low) if t in _EN_AUX_WORDS or t in _EN_NEGATED]
    if len(auxes) != 1 or auxes[0] == 0:
        return None
    i = auxes[0]
    after = low[i + 1 : i + 3]
    if low[i] in _EN_NEGATED:
        tokens[i] = _EN_NEGATED[low[i]]
    elif after[:1] in (["not"], ["never"]):
        del tokens[i + 1]
    elif after == ["no", "longer"]:
        tokens[i + 1 : i + 3] = ["still"]
    elif set(low) & _EN_NEGATIONS:
        return None  # a negation elsewhere ("No one should ..."): not provably safe
    else:
        degree = other.INTENSIFIERS["en"].split()
        while len(tokens) > i + 2 and low[i + 1] in degree:  # "is not overrated", not "not so"
            del tokens[i + 1], low[i + 1]
        tokens.insert(i + 1, "not")
    return " ".join(tokens)


def oppose(claim: str, language: str) -> str:
    """The claim opposite to `claim`, as a clause without the final full stop."""
    claim = claim.strip().rstrip(".!")
    inner = framed(claim, language)
    if inner is not None:
        return inner
    rules = GRAMMARS.get(language)
    if rules is None or not _one_clause(claim, rules):
        return frame(claim, language)
    if language == "en":
        direct = _swapped_comparison(claim) or _direct_english(claim)
    else:
        direct = other.negate_single_verb(claim, language)
    return direct or frame(claim, language)


@dataclass(frozen=True, slots=True)
class Opinion:
    claim: str  # what the opinion is about, without the marker
    denied: bool  # True: the user holds the opposite of `claim`


# The user's current view can follow a hedge or an old one: "I might be wrong, but I think X",
# "I used to think Y, but now I'm sure X".
_TURN = re.compile(
    r"[,;]?\s*\b(?:but|mais|pero|aber|ma|mas|но|а)\b\s*(?:now|maintenant|ahora|jetzt|ora|agora|"
    r"теперь|сейчас)?\s*,?\s*",
    re.I,
)


def opinion_in(text: str, language: str) -> Opinion | None:
    """An opinion marker or a denial at the start of `text`, or of its clause after a "but",
    with the claim it is about."""
    rules = GRAMMARS.get(language)
    if rules is None:
        return None
    for turn in reversed(list(_TURN.finditer(text))):
        later = _marked(text[turn.end() :], rules, language)
        if later is not None:
            return later
    return _marked(text, rules, language)


def view_before_turn(text: str, language: str) -> str | None:
    """The view a user turned from ("I used to think X, but now …" -> X), if any."""
    turns = list(_TURN.finditer(text))
    if not turns or language not in GRAMMARS:
        return None
    before = text[: turns[-1].start()]
    marked = opinion_in(before, language)
    if marked is not None:
        return marked.claim
    held = _HELD_BEFORE.search(before)
    return before[held.end() :].strip() if held else None


# A view the user held before ("I used to think", "j'ai longtemps cru que", "pensaba que").
_HELD_BEFORE = re.compile(
    r"\b(?:i (?:used to|once) (?:think|believe)|i (?:thought|believed)|je (?:pensais|croyais)|"
    r"j['’]ai (?:longtemps |toujours )?(?:cru|pensé)|pensaba|creía|ich (?:dachte|glaubte)|"
    r"pensavo|credevo|achava|pensava|acreditava|думала?|считала?)\s*,?\s*(?:that|que|qu['’]|"
    r"dass|che|что)?\s*",
    re.I,
)


def _marked(text: str, rules: ClaimGrammar, language: str) -> Opinion | None:
    denial = rules.denial.match(text)
    if denial and text[denial.end() :].strip():
        return Opinion(text[denial.end() :].strip(), denied=True)
    opinion = rules.opinion.match(text)
    if opinion and text[opinion.end() :].strip():
        rest = text[opinion.end() :].strip()
        # Markers come in runs ("Honestly, I think …"): the innermost one decides.
        return opinion_in(rest, language) or Opinion(rest, denied=False)
    framed_by_speaker = _speaker_framing(text, language)
    return Opinion(framed_by_speaker, denied=False) if framed_by_speaker else None


# A speaker's framing ends with a comma, "that" or its kin, or both.
_FRAMING = re.compile(
    r"^(?P<lead>[^,;:.!?\"«»“”]{1,50}?)(?P<end>\s*,\s*(?:(?:that|que|che|dass|что)\s+)?|"
    r"\s+(?:that|que|che|dass|что)\s+|\s+qu['’])(?P<c>.+)$",
    re.I | re.S,
)
_NEGATIONS = frozenset(
    "not no non pas nicht nie kein не нет não ne n nunca jamais mai never".split()
)
_POSSESSIVES = {
    "en": {"my"},
    "fr": {"mon", "ma", "mes"},
    "es": {"mi", "mis"},
    "de": {"mein", "meine"},
    "it": {"mio", "mia", "miei", "mie"},
    "pt": {"meu", "minha", "meus", "minhas"},
    "ru": {"мой", "моя", "моё", "мои"},
}
# Spanish, Italian, Portuguese and Russian drop "I": the first person singular of the present
# ends in -o ("Considero", "Vivo", "Ho"; Portuguese also "Dou", "Estou"), in Russian in its own
# two vowels ("Считаю", "Живу").
FIRST_PERSON_ENDINGS = {"es": ("o",), "it": ("o",), "pt": ("o", "ou"), "ru": ("у", "ю")}


def _speaker_framing(text: str, language: str) -> str | None:
    """The claim after the speaker's own framing of it, read from its shape: a few words about
    the speaker with at most one other content word, then a comma or "that" ("To me, X", "Para
    mí, X", "Me parece que X", "Considero que X", "Il me semble que X", "Считаю, что X"). Not a
    negated framing ("Non mi sembra che X"), nor someone else's ("Mi madre dice que X")."""
    found = _FRAMING.match(text)
    if found is None or not found["c"].strip():
        return None
    said = [part for word in words(found["lead"]) for part in re.split(r"['’]", word) if part]
    if not said or len(said) > 5 or set(said) & _NEGATIONS:
        return None  # no words at all ("2024, …"), too many, or a negated framing
    endings = FIRST_PERSON_ENDINGS.get(language, ())
    first_person = bool(set(said) & _SPEAKER) or (bool(endings) and said[0].endswith(endings))
    if not first_person:
        return None
    if said[0] in _POSSESSIVES.get(language, ()):
        return None  # "Mi madre dice que …", "My mom thinks that …": someone else's view
    # A comma alone ends a framing with no verb ("To me,", "По моему мнению,") that opens with
    # a function word ("My dog, I think, …" opens with its subject).
    comma_alone = found["end"].strip() == ","
    if comma_alone and (said[0] in _SPEAKER or _has_verb(found["lead"], language)):
        return None
    content = [w for w in said if w not in _opening_words() and w not in _SPEAKER]
    return found["c"].strip() if len(content) <= 1 else None


# Where a clause can end inside a sentence: a comma, semicolon or colon, or a dash between
# spaces (not in Russian, where " — " joins a subject to its predicate: "Кофе — это яд").
_CLAUSE_BREAK = re.compile(r"\s*[,;:]\s+|\s+[—–]\s+")
_CLAUSE_BREAK_RU = re.compile(r"\s*[,;:]\s+")
# A segment that opens with one of these depends on the next ("If we ban cars, cities …").
_SUBORDINATORS = frozenset(
    """if when whenever although though because since while unless once
    si quand lorsque bien puisque parce cuando aunque porque mientras wenn obwohl weil da
    während falls se quando sebbene benché perché mentre embora porque enquanto если когда
    хотя потому пока""".split()
)
# "and" and "or" of each language ("o" is Spanish and Italian "or", but the Portuguese "the").
_LIST_WORDS = {
    "en": {"and", "or"},
    "fr": {"et", "ou"},
    "es": {"y", "e", "o", "u"},
    "de": {"und", "oder"},
    "it": {"e", "ed", "o", "oppure"},
    "pt": {"e", "ou"},
    "ru": {"и", "или"},
}
# A segment that opens with one of these is governed by the clause before it ("I doubt, that
# …", "Il faut, pour que …", "dass", "что"); so does a German "zu" clause ("…, ein Instrument
# zu lernen").
_GOVERNED = frozenset("que qu che dass ob что чтобы".split())
_MAX_LEAD_IN_WORDS = 3
_ARTICLES = frozenset(
    "the a an le la les l un une el los las der die das ein eine il lo gli o os".split()
)
# Words that open an adverbial that belongs to the claim ("In twenty years, …"): English's
# closed classes (its stop-word list also holds "good" and "time") and the other languages'
# function words.
_NOT_ENGLISH = ("fr", "es", "de", "it", "pt", "ru")


@cache
def _opening_words() -> frozenset[str]:
    return english.CLOSED_CLASS | function_words(_NOT_ENGLISH)


# The speaker, in every language read: a segment with one of these is about the user. (French
# "ma" and "mes" are left out: Italian "ma" is "but", Spanish "mes" is "month".)
_SPEAKER = frozenset(
    "i me my je j moi mon yo mi mí mis ich mich mir mein meine meiner meines io mio mia eu "
    "meu minha mim я меня мне мой моя мои моему моей".split()
)


def _has_verb(text: str, language: str) -> bool:
    return english.has_verb(text) if language == "en" else other.is_claim(text, language)


def _split_outside_brackets(pattern: re.Pattern[str], text: str) -> list[str]:
    """`text` split where `pattern` matches, except inside brackets ("(Paris, Lyon, etc.)")."""
    depth, cuts = 0, []
    breaks = {m.start(): m for m in pattern.finditer(text)}
    for i, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if i in breaks and depth <= 0:
            cuts.append(breaks[i])
    pieces, begin = [], 0
    for match in cuts:
        pieces.append(text[begin : match.start()])
        begin = match.end()
    return [*pieces, text[begin:]]


def _lead_in(segment: str, following: str, colon: bool, language: str) -> bool:
    """A lead-in to drop ("Hot take:", "Seriously,", "Good riddance,"): a few words before a
    colon, or before a comma one word or words that do not open with a function word ("In
    twenty years," is part of the claim), and not a list's first item ("Cats, dogs and …")."""
    said = words(segment)
    if not said or len(said) > _MAX_LEAD_IN_WORDS:
        return False
    if not colon and len(said) > 1 and said[0] in _opening_words():
        return False
    head = words(following)
    return not set(head[: len(head) // 2 + 1]) & _LIST_WORDS[language]


def _governed(segment: str, language: str) -> bool:
    said = words(segment)
    if language == "en":  # after a comma, English "that" is "that one" ("…, that's marketing")
        return False
    return bool(set(said[:2]) & _GOVERNED) or (language == "de" and "zu" in said)


_CODA_START = re.compile(r",\s+|,?\s+(?:and|y|et|und|e|и)\s+", re.I)


# A last comment on the claim itself: "…, eso está clarísimo", "…, это же очевидно", "…, that's
# a fact". Not after a bare noun phrase: "Le Tour de France, c'est devenu ennuyeux" is one claim.
_COMMENT = re.compile(
    r",\s+(?:that(?:'s| is)|this is|eso|esto|c['’]est|ça|das|questo|ciò|isso|isto|это)\b"
    r"(?P<rest>[^,]*)$",
    re.I,
)
_MAX_COMMENT_WORDS = 5


def _without_comment(claim: str) -> str:
    comment = _COMMENT.search(claim)
    if comment is None or len(words(comment.group(0))) > _MAX_COMMENT_WORDS:
        return claim
    before = claim[: comment.start()]
    said = words(before)
    noun_phrase = len(said) <= 6 and (not said or said[0] in _ARTICLES)
    return claim if noun_phrase or len(said) < 4 else before.strip()


def _without_speaker_coda(claim: str) -> str:
    """The claim without a last clause about the speaker: "X and I will die on this hill",
    "X, and no amount of studies will convince me otherwise", "X y no me vas a convencer"."""
    for joint in reversed(list(_CODA_START.finditer(claim))):
        before, coda = claim[: joint.start()], claim[joint.end() :]
        if len(words(before)) >= 3 and set(words(coda)) & _SPEAKER and "(" not in coda:
            return before.strip()
    return claim


# Words that only a negated clause takes ("any", "ever", "mai"): once the denial is taken off
# ("I doubt that recycling makes any difference" -> the bot argues "Recycling makes some
# difference"), they read as their plain forms.
_NEGATIVE_POLARITY = {
    "en": (("anyone", "someone"), ("anybody", "somebody"), ("anything", "something"),
           ("any", "some"), ("ever", ""), ("at all", ""), ("yet", "already")),
    "it": (("mai", ""),),
    "de": (("jemals", ""),),
    "fr": (("jamais", ""),),
}  # fmt: skip


def affirmed(claim: str, language: str) -> str:
    """A claim the user denied, as the bot states it: without the words only a denial takes."""
    for word, plain in _NEGATIVE_POLARITY.get(language, ()):
        claim = re.sub(rf"(?<!\w){word}(?!\w)\s*", f"{plain} " if plain else "", claim, flags=re.I)
    return " ".join(claim.split())


def core_clause(claim: str, language: str) -> str:
    """The claim without a lead-in before it or a comment after it, as one clause: "Hot take:
    X", "Good riddance, X" -> X; "X, mark my words", "X, and the data backs it up", "X, eso
    está clarísimo" -> X. The claim is the first clause with a verb, together with any verbless
    segments before it ("Dogs, unlike cats, are loyal" stays whole) and any segment it governs
    ("…, that …", "…, dass …"). Unchanged when no segment has a known verb, or when the first
    segment depends on the next ("If …, …")."""
    if language not in GRAMMARS:
        return claim
    # Before a colon, a scene set with no known verb or about the speaker ("Llevo 10 años de
    # profe y lo tengo clarísimo: X", "I've taught for years and I'll say it: X") is a lead-in;
    # a claim before a colon ("X is a bad idea: …") is not.
    scene, before_colon, said = claim.partition(": ")
    scene_set = bool(set(words(scene)) & _SPEAKER) or not _has_verb(scene, language)
    if before_colon and len(words(said)) >= 3 and "(" not in scene and scene_set:
        return core_clause(said, language)
    claim = _without_comment(_without_speaker_coda(claim))
    pattern = _CLAUSE_BREAK_RU if language == "ru" else _CLAUSE_BREAK
    segments = [s for s in _split_outside_brackets(pattern, claim) if s.strip()]
    if len(segments) < 2 or (words(segments[0])[:1] and words(segments[0])[0] in _SUBORDINATORS):
        return claim
    with_verb = [i for i, segment in enumerate(segments) if _has_verb(segment, language)]
    colon = ":" in claim[len(segments[0]) : claim.index(segments[1], len(segments[0]))]
    if not with_verb:
        # No verb the lists know ("Good riddance, phones wreck kids' attention spans"): only a
        # lead-in comes off.
        rest = claim[claim.index(segments[1], len(segments[0])) :]
        lead_in = _lead_in(segments[0], segments[1], colon, language) and len(words(rest)) >= 3
        return rest.strip() if lead_in and not _governed(segments[1], language) else claim
    start = 1 if (with_verb[0] == 1 and _lead_in(segments[0], segments[1], colon, language)) else 0
    if start and _governed(segments[1], language):
        start = 0  # "Докажи мне, что X": what governs X is no lead-in
    last = max(with_verb[0], start)
    while last + 1 < len(segments) and _governed(segments[last + 1], language):
        last += 1
    begin = claim.index(segments[start])
    end = claim.index(segments[last], begin) + len(segments[last])
    return claim[begin:end].strip()
