"""Rule-based reading of a first message, for models that cannot return reliable JSON (the
offline and fake models).

What the message does decides the side (the kinds of `OpeningKind`): it assigns the bot a side,
states a claim of the user's own (the bot takes the opposite), names a bare topic, asks a yes/no
question or compares two things (the bot picks), or has nothing to debate: small talk, an
instruction to the bot, or something the rules cannot read. In those last cases no side is
fixed and the bot asks, in the user's language where it can.

A thesis is one clean sentence of at most 200 characters; it never restates the user's own
claim, and text that reads as an instruction to the bot never becomes one.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import StrEnum

from agent.domain import Stance
from agent.understanding import claims
from agent.understanding import english as en
from agent.understanding import languages as other
from agent.understanding.language import detect_language, function_words, words
from agent.understanding.text import (
    about_the_bot,
    addresses_the_bot,
    as_sentence,
    clean,
    first_sentence,
    reads_as_instruction,
    sentences,
    small_talk_language,
    thesis_problem,
)


class OpeningKind(StrEnum):
    ASSIGNED = "assigned"
    CLAIM = "claim"
    TOPIC = "topic"
    QUESTION = "question"
    COMPARISON = "comparison"
    SMALL_TALK = "small_talk"
    INSTRUCTION = "instruction"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class OpeningReading:
    kind: OpeningKind
    stance: Stance | None  # None: no side yet, the bot asks
    language: str  # of the message; "en" when it cannot be told

    @property
    def asks_for_topic(self) -> bool:
        """No topic at all (small talk, instructions); otherwise the bot asks for a side."""
        return self.kind in {OpeningKind.SMALL_TALK, OpeningKind.INSTRUCTION}


_TOPIC_PREFIX = re.compile(
    r"^\s*(?:topic|subject|debate|motion|thème|sujet|tema|thema|argomento|assunto|тема)\s*"
    r"[:\-–]\s*",
    re.I,
)
# Where an English request to argue may start: the sentence start, or after "you", "please"...
_REQUEST_START = r"(?:^|(?<=[.!?:])\s+|\b(?:you|please|to|can you|could you|would you|will you)\s+)"
_THAT = r"(?:that\s+|the (?:idea|view|position|claim|thesis) that\s+)?"
_ASSIGNED_EN = [
    re.compile(p, re.I | re.S)
    for p in (
        r"\byou(?:'ll| will| should| must| shall| can|'re going to| are going to)?\s+"
        r"(?:argue|are|defend)\s+(?P<dir>for|against)\s+(?P<t>.+)",
        r"\byou(?:'ll| will| should| must| shall| can|'re going to| are going to)?\s+"
        r"(?:argue|defend|claim|maintain|hold|support|take the (?:side|position|view|stance))"
        rf"\s+{_THAT}(?P<t>.+)",
        r"\b(?:convince|persuade)\s+me\s+(?!otherwise\b)(?:that\s+|of\s+(?:the\s+idea\s+that\s+)?)?"
        r"(?P<t>.+)",
        _REQUEST_START + r"(?:argue|defend|make the case)\s+(?P<dir>for|against)\s+(?P<t>.+)",
        _REQUEST_START
        + r"(?:argue|defend|make the case|take the (?:side|position|view))\s+"
        + rf"{_THAT}(?P<t>.+)",
        _REQUEST_START + r"prove\s+(?:to me\s+)?that\s+(?P<t>.+)",
        r"\byour\s+(?:side|position|thesis|stance|view)\s*(?:is|:)\s*(?:that\s+)?(?P<t>.+)",
        r"\b(?:you're|you are) on the side (?:that says\s+|of\s+)(?:that\s+)?(?P<t>.+)",
        r"\btake the (?P<dir>contra|con|opposing|negative|pro|affirmative) side (?:on|of)\s+"
        r"(?P<t>.+)",
        # Any of the other languages: a verb of arguing addressed to the bot (imperative,
        # infinitive, second person; "je défends", "ich verteidige" are the user's own side)
        r"(?<!\bje )(?<!\bich )\b(?:défends|défendez|défendre|argumente[sz]?|argumenter|soutiens|"
        r"soutenez|soutenir|prouve[sz]?|prouver|démontre[sz]?|démontrer|defiende|defienda[sn]?|"
        r"defender|argumenta[rs]?|argumente[sn]?|sostén|sostener|demuestra|demostrar|demuestres|"
        r"demuéstrame|demuestrame|dimostrami|prova-me|demonstra-me|"
        r"difendi|difendere|argomenta|argomentare|sostieni|sostenere|dimostra|dimostrare|"
        r"defenda|defende|sustenta|sustente|provar|demonstre|demonstrar|verteidige|verteidigen|"
        r"verteidigst|argumentiere|argumentieren|argumentierst|beweise|beweisen|vertrittst|"
        r"докажи|доказать|докажешь|защищай|защищать|защитишь|отстаивай|отстаивать|"
        r"аргументируй)(?:[\s-]*(?:мне|mir|moi|me|mi))?\s*,?\s*(?:(?:l['’]idée|la idea de|"
        r"l['’]idea|a ideia de|la (?:thèse|position|tesis|posición|tesi|posizione)|"
        r"a (?:tese|posição)|die (?:idee|these|position)|идею|тезис|позицию)\s*,?\s*)?"
        r"(?:que\s+|qu['’]|che\s+|dass\s+|что\s+|:\s*)(?P<t>.+)",
        r"(?<!\bje )(?<!\bich )\b(?:argumente[sn]?|argumentar|argomenta(?:re)?|argumentier\w*|"
        r"défend\w*|difend\w*|defend\w*|выступа\w*)\s+(?P<dir>a favor de|en contra de|contra|"
        r"contro|a favore di|pour|contre|für|gegen|за|против)\s+(?P<t>.+)",
        # "(Nobody will) convince me that X", in the other languages: either way the bot argues X
        # (a past "tu m'as convaincu que X" means the user holds X: not read so).
        r"(?:\bme|\bm['’]|\bmich|\bmi|\bменя)\s*(?:\w+\s+){0,2}(?:convain|convenc|convinc|"
        r"überzeug|убед|переубед)\w*(?<!cu)(?<!cue)(?<!ido)(?<!ida)(?<!ил)(?<!ила)\s*,?\s*"
        r"(?:de\s+|davon\s*,?\s*|в том\s*,?\s*)?(?:que\s+|qu['’]|che\s+|dass\s+|что\s+)"
        r"(?P<t>.+)",
        r"\b(?:convencer-?me|convincermi|überzeugt\s+mich(?:\s+(?:niemand|keiner))?)\s*,?\s*"
        r"(?:de\s+|davon\s*,?\s*)?(?:que\s+|che\s+|dass\s+)(?P<t>.+)",
        r"\bplay (?:the )?devil'?s advocate\s*(?:on|for|:|,|-)?\s*(?P<t>.+)",
        _REQUEST_START + r"(?:tell me|explain)\s+why\s+(?P<t>.+)",
    )
]
_CHANGE_MY_MIND = [
    re.compile(p, re.I | re.S)
    for p in (
        r"^(?:change my mind|prove me wrong|convince me otherwise)\s*[:,.!-]*\s*(?P<c>.+)$",
        # "X, and nobody will (ever) convince me otherwise"
        r"^(?P<c>.+?),?\s+(?:and\s+)?(?:no ?one|nobody|no amount of .+?|you)\s+(?:\w+\s+){0,3}"
        r"(?:convince|persuade|change)\s+(?:me|my mind)(?:\s+otherwise)?[.!]*$",
        r"^(?P<c>.+?)[.!,]?\s*(?:change my mind|prove me wrong|convince me otherwise)[.!]*$",
        r"^(?:i(?:'ll| will| can| am going to|'m going to)|let me) (?:change your mind|"
        r"convince you|prove (?:it )?to you)\s*(?:that\s+)?[:,.!-]*\s*(?P<c>.+)$",
    )
]
_LEAD_IN = re.compile(
    r"^(?:let'?s (?:debate|discuss|talk about|argue about)|debate me (?:on|about)|"
    r"i want to (?:debate|discuss|talk about)|can we (?:debate|discuss|talk about)|"
    r"what do you think (?:about|of)|what(?:'s| is) your (?:opinion|view|take) (?:on|of)|"
    r"how do you feel about|thoughts on|what about|your (?:opinion|thoughts|take) on)"
    r"\s*:?\s*(?P<t>.+)$",
    re.I | re.S,
)
_COMPARISON = re.compile(
    r"^(?:which is better\s*[:,]?\s*|what(?:'s| is) better\s*[:,]?\s*)?"
    r"(?P<a>[^,:?]+?)\s+(?P<or>vs\.?|versus|v\.|or|ou|o|oder|или)\s+(?P<b>[^,:?]+?)\s*\??$",
    re.I,
)
_LIKES = re.compile(
    r"^(?:i (?:really |absolutely |just |truly )?(?:love|like|adore|enjoy|support)|"
    r"i(?:'m| am) (?:all |totally )?(?:for|pro|a (?:big |huge )?fan of))\s+(?P<x>.+)$",
    re.I,
)
_PREFERS = re.compile(r"^i (?:really |much )?prefer\s+(?P<a>.+?)\s+(?:to|over)\s+(?P<b>.+)$", re.I)
_DISLIKES = re.compile(
    r"^(?:i (?:really |absolutely |just |truly )?(?:hate|dislike|can't stand|cannot stand|"
    r"oppose|detest)|i(?:'m| am) (?:totally |strongly |completely )?(?:against|anti|"
    r"not a fan of))\s+(?P<x>.+)$",
    re.I,
)
_RATHER = re.compile(
    r"^(?:would you rather|do you prefer|what do you prefer,?|which do you prefer,?)\s+"
    r"(?P<a>.+?)\s+or\s+(?P<b>.+?)\s*\??$",
    re.I,
)
# Topics that are problems: "for climate change" makes no sense, so the bot takes them seriously.
_PROBLEMS = re.compile(
    r"\b(?:climate change|global warming|poverty|war|racism|sexism|inflation|crime|pollution|"
    r"unemployment|obesity|terrorism|homelessness|inequality|corruption|misinformation|"
    r"fake news|bullying|addiction|deforestation|discrimination|hunger|violence)\b",
    re.I,
)
# Words that start a message without saying anything: "so... self-driving taxis", "Bof, …".
_FILLER = re.compile(
    r"^(?:so|well|um+|uh+|hmm+|ok(?:ay)?|honestly|bof|boh|alors|bon|euh|heu|bueno|pues|also|"
    r"ähm|äh|tja|allora|então|ну|ладно|эм)\b\s*[.,!?…]*\s+",
    re.I,
)
# "Federer is overrated, period.": emphasis, not part of the claim.
_EMPHASIS = re.compile(
    r",?\s*(?:period|full stop|end of story|no question|lol|lmao|haha|point final|punto|punkt|"
    r"ponto final|и точка)\s*[.!]*\s*$",
    re.I,
)
_PRONOUN_START = re.compile(r"^(?:it|this|that|they|these|those|he|she)\b", re.I)
# A claim about "this" or "that" with nothing before it to say what: the bot asks.
_DEMONSTRATIVE_START = re.compile(
    r"^(?:ça|cela|ceci|dies|eso|esto|ello|ciò|isso|isto|aquilo)\b", re.I
)


def _demonstrative_subject(claim: str, language: str) -> bool:
    """ "Cela …", "Eso …", and German "Das" before a verb ("Das hat Spaß gemacht", not "Das
    Fahrrad ist …")."""
    said = claim.split()
    if language == "de" and len(said) > 1 and said[0].lower() == "das":
        return said[1].lower() in other.GRAMMARS["de"].verbs
    return _DEMONSTRATIVE_START.match(claim) is not None


_EXTRAPOSED = re.compile(r"^it (?:is|was|would be|will be)\b.*\b(?:to|that)\b", re.I)
_REQUEST = re.compile(
    r"^(?:tell|write|give|show|explain|describe|list|summari[sz]e|translate|help|calculate|"
    r"compute|generate|make|create|draw|sing|recommend|suggest|teach|say|print|output|type|"
    r"answer|respond|reply|repeat|stop|do|be|act|pretend|forget|ignore|please)\b",
    re.I,
)
_WH = re.compile(r"^(?:why|how|what|who|whom|whose|when|where|which)\b", re.I)
_DO_YOU_THINK = re.compile(
    r"^(?:do|don't) you (?:think|believe|agree)\s+(?:that\s+)?(?P<t>.+)$", re.I
)
# A pronoun standing for the named topic at the start of a side ("Topic: uniforms. You argue that
# they ...", "Sujet : les vacances. Tu défends qu'elles ..."; the same in the other languages).
_TOPIC_PRONOUNS = {
    "en": "it|they|this",
    "fr": "il|elle|ils|elles",
    "de": "er|sie|es",
    "pt": "ele|ela|eles|elas",
    "ru": "он|она|оно|они|его|её|их",
}  # Spanish and Italian drop subject pronouns
_TOPIC_PRONOUN = {
    language: re.compile(rf"^(?:{pronouns})\s+", re.I)
    for language, pronouns in _TOPIC_PRONOUNS.items()
}
_PREPOSITION_TAIL = re.compile(r"^(?P<head>.+?)\s+(?P<tail>(?:on|in|at|for|of|with)\s+.+)$", re.I)
_MAX_TOPIC_WORDS = 6


def _reading(
    kind: OpeningKind, language: str, topic: str = "", thesis: str = "", antithesis: str = ""
) -> OpeningReading:
    """The stance: topic, thesis and the claim the thesis opposes (the user's own claim, or the
    thesis's opposite), each checked; any doubt and the bot asks instead."""
    if not thesis:
        return OpeningReading(kind, None, language)
    if not re.search(r"[^\W\d_]{3}|[A-Z]{2}", topic or thesis):
        return OpeningReading(OpeningKind.UNCLEAR, None, language)  # "x", "42"
    named = topic if kind == OpeningKind.TOPIC else thesis
    if (
        kind in {OpeningKind.TOPIC, OpeningKind.QUESTION}
        and not set(words(named)) - function_words()
    ):
        # Function words only name nothing: "e quindi?", "Und jetzt?", "¿Y eso qué?".
        return OpeningReading(OpeningKind.UNCLEAR, None, language)
    sentence = as_sentence(thesis)
    opposite = as_sentence(antithesis or claims.oppose(clean(thesis), language))
    if thesis_problem(sentence) or len(sentences(opposite)) > 1:
        return OpeningReading(OpeningKind.UNCLEAR, None, language)
    stance = Stance(clean(topic) or _topic_from(thesis), sentence, opposite)
    return OpeningReading(kind, stance, language)


def _subject(clause: str, language: str) -> str:
    """The words before a clause's first known verb ("zoos" in "zoos were cruel"), or ""."""
    verbs = en.FINITE if language == "en" else other.GRAMMARS[language].verbs
    tokens = clean(clause).split()
    verb = next((i for i, t in enumerate(tokens) if t.lower() in verbs), 0)
    return " ".join(tokens[:verb]) if 1 <= verb <= _MAX_TOPIC_WORDS else ""


def _topic_from(thesis: str) -> str:
    return " ".join(clean(thesis).split(" ")[:8])


def picked_side(topic: str, direction: str = "for", language: str = "en") -> str:
    """The side the bot takes on a bare topic: for it, unless told to argue against; in the
    language of the message."""
    topic = clean(topic)
    if words(topic)[:1] and words(topic)[0] in _DETERMINERS:
        topic = topic[:1].lower() + topic[1:]  # "Le service militaire" inside a sentence
    problem = language == "en" and direction == "for" and _PROBLEMS.search(topic)
    if problem and len(topic.split()) <= 3:
        return f"{topic[:1].upper()}{topic[1:]} is a serious problem that needs action now"
    rules = claims.grammar(language) or claims.GRAMMARS["en"]
    return _contracted(rules.picked[0 if direction == "for" else 1].format(topic=topic), language)


# A preposition before an article is one word in these languages: "a favor de el" is "a favor
# del", "a favor de a escala" is "a favor da escala", "a favore di il" is "a favore del".
_CONTRACTIONS = {
    "es": {"de el": "del", "a el": "al"},
    "pt": {"de o": "do", "de a": "da", "de os": "dos", "de as": "das"},
    "it": {
        "di il": "del",
        "di lo": "dello",
        "di la": "della",
        "di i": "dei",
        "di gli": "degli",
        "di le": "delle",
        "di l'": "dell'",
        "di l’": "dell’",
    },
    "fr": {"de le": "du", "de les": "des"},
}


def _contracted(text: str, language: str) -> str:
    for loose, joined in _CONTRACTIONS.get(language, {}).items():
        end = r"(?=\s|$)" if loose[-1].isalpha() else ""
        text = re.sub(rf"(?<!\w){re.escape(loose)}{end}", joined, text, flags=re.I)
    return text


def read_opening(message: str) -> OpeningReading:
    """What a first message asks of the bot, and the stance it sets (None: the bot asks)."""
    text = message.strip()
    language = detect_language(text) or "en"
    if not re.search(r"\w", text):
        return OpeningReading(OpeningKind.SMALL_TALK, None, language)
    chit_chat = small_talk_language(text)
    if chit_chat is not None:
        return OpeningReading(OpeningKind.SMALL_TALK, None, chit_chat or language)
    kept, dropped_instruction = [], False
    for sentence in sentences(text):
        if reads_as_instruction(sentence):
            dropped_instruction = True
        elif small_talk_language(sentence) is None:
            kept.append(sentence)
    if not kept:
        kind = OpeningKind.INSTRUCTION if dropped_instruction else OpeningKind.SMALL_TALK
        return OpeningReading(kind, None, language)
    rest = _FILLER.sub("", " ".join(kept)) or " ".join(kept)
    language = detect_language(rest) or language
    if language == "en":
        rest = en.with_apostrophes(rest)
    if claims.unsure(_FILLER.sub("", clean(rest)).lower()):
        return OpeningReading(OpeningKind.UNCLEAR, None, language)  # "I don't know", "boh"

    topic, rest = _context_first(rest, language)
    prefix = _TOPIC_PREFIX.match(rest)
    if prefix:
        # The topic is the first sentence after "Topic:" (sentence ends know "U.S." and "e.g.").
        named, *others = sentences(rest[prefix.end() :]) or [""]
        topic, rest = clean(named), " ".join(others)
        if about_the_bot(topic, language) or addresses_the_bot(topic, language):
            return OpeningReading(OpeningKind.INSTRUCTION, None, language)
        if not rest:
            return _comparison(topic, language) or _reading(
                OpeningKind.TOPIC, language, topic, picked_side(topic, language=language)
            )
    talk = _TALK_ABOUT.match(clean(rest))
    if talk and not topic and language != "en":  # English lead-ins: _lead_in, comparisons too
        named = _talked_about(talk["t"], language)
        return _reading(OpeningKind.TOPIC, language, named, picked_side(named, language=language))
    return (
        _assigned(rest, topic, language)
        or _just_me(rest, topic, language)
        or _change_my_mind(rest, language)
        or _lead_in(rest, language)
        or _comparison(rest, language)
        or _rather(rest, language)
        or _tagged(rest, topic, language)
        or _asked_view(rest, topic, language)
        or _reported_view(rest, topic, language)
        or _question(rest, language)
        or _claim(rest, topic, language)
    )


# "Let's talk about X." opening a longer message names the topic, in every language.
_TALK_ABOUT = re.compile(
    r"^(?:(?:let'?s|i (?:want|would like|'d like) to|je veux|je voudrais|quiero|quisiera|"
    r"ich möchte|ich will|voglio|vorrei|quero|queria|vamos|хочу|хотел[аи]? бы|давай(?:те)?|"
    r"lass(?:t)? uns)\s+(?:talk about|debate|discuss|débattre|discuter|parler|debatir|discutir|"
    r"hablar|discutere|parlare|debater|falar|поговорить|обсудить|поспорить|поговорим|обсудим|"
    r"поспорим|über)|parlons|discutons|débattons|hablemos|debatamos|discutamos|parliamo|"
    r"discutiamo)(?:\s+(?:about|de|sur|sobre|di|su|о|об|про)(?=\s))?\s+(?P<t>.+?)"
    r"(?:\s+(?:reden|sprechen|diskutieren|debattieren))?$",
    re.I,
)


def _talked_about(named: str, language: str) -> str:
    """The topic after "parlons du …", "hablemos del …": the article the preposition took in
    ("du nucléaire" -> "le nucléaire", "del servicio" -> "el servicio")."""
    head, _, tail = clean(named).partition(" ")
    for loose, joined in _CONTRACTIONS.get(language, {}).items():
        if tail and head.lower() == joined and loose[-1].isalpha():
            return f"{loose.split(' ', 1)[1]} {tail}"
    return clean(named)


_SECOND_PERSON_START = re.compile(r"^(?:du|tu|vous|você|voce|vc|tú|usted|ты|вы|voi)\b", re.I)
_FIRST_PERSON = re.compile(
    r"^(?:i|i'm|i've|we|my|je|j['’]|nous|yo|soy|ich|wir|io|sono|eu|sou|я|мы)\b", re.I
)


def _first_person(text: str, language: str) -> bool:
    """Whether `text` opens with "I", "we", "my"... (Italian "I" is "the": "I telefoni …")."""
    found = _FIRST_PERSON.match(text)
    return found is not None and not (language == "it" and found.group(0).lower() == "i")


# Where "I" is dropped, a first word in its form (claims.FIRST_PERSON_ENDINGS) is the speaker's
# verb, unless an article follows it: "Solo los ricos …".
_ARTICLES = {
    "es": frozenset("el la los las un una unos unas".split()),
    "it": frozenset("il lo la i gli le un uno una".split()),
    "pt": frozenset("o a os as um uma uns umas".split()),
    "ru": frozenset(),
}


def _about_the_speaker(sentence: str, language: str) -> bool:
    """Whether a sentence opens with "I" or, where "I" is dropped, with a verb in its form
    ("Llevo tres años en Madrid."): background, not the view."""
    if _first_person(sentence, language):
        return True
    endings = claims.FIRST_PERSON_ENDINGS.get(language)
    if endings is None:
        return False
    first, second = [*words(sentence), "", ""][:2]
    articles = _ARTICLES[language]
    return first.endswith(endings) and second not in articles and not _has_verb(second, language)


def _context_first(text: str, language: str) -> tuple[str, str]:
    """(topic, the rest) of a message that sets the scene before it says anything to debate:
    a first sentence naming the topic ("Let's talk about cruise ships.", "Football."), first-
    person background ("I'm a maths teacher.") and a last question asking the bot's opinion
    ("What do you think?") are not the claim."""
    found = sentences(text)
    topic = ""
    while len(found) > 1:
        first, last = found[0], found[-1]
        talk = _TALK_ABOUT.match(clean(first))
        if talk:
            topic, found = _talked_about(talk["t"], language), found[1:]
        elif (
            _about_the_speaker(first, language)
            and not _says_something(first, language)
            and not addresses_the_bot(first, language)  # "I want you to argue for X."
        ):
            found = found[1:]
        elif (
            not first.endswith("?")
            and len(words(first)) <= 4
            and not _has_verb(first, language)
            and _comparison_sides(first, language) is None
        ):
            topic, found = clean(_TOPIC_PREFIX.sub("", first)), found[1:]
        elif last.endswith("?") and len(words(last)) <= 6 and addresses_the_bot(last, language):
            found = found[:-1]
        else:
            break
    return topic, " ".join(found)


def _says_something(sentence: str, language: str) -> bool:
    """An opinion, or someone's reported view ("My uncle says …"): not mere background."""
    rules = claims.grammar(language)
    reported = rules is not None and rules.reported.match(clean(sentence)) is not None
    return reported or claims.opinion_in(sentence, language) is not None


def _has_verb(text: str, language: str) -> bool:
    if language == "en":
        return en.has_verb(text)
    return language in other.GRAMMARS and other.is_claim(text, language)


def analyze_opening(message: str) -> Stance | None:
    """The stance a first message sets, or None when there is nothing to debate yet."""
    return read_opening(message).stance


def _comparison_sides(text: str, language: str = "") -> tuple[str, str] | None:
    match = _COMPARISON.match(clean(text) + ("?" if text.rstrip().endswith("?") else ""))
    if not match or (match["or"].lower() == "o" and language not in {"es", "it"}):
        return None  # "o" is "or" only in Spanish and Italian ("Esquece o debate": "the")
    a, b = clean(match["a"]), clean(match["b"])
    if b.lower() in {"not", "no", "nicht", "non", "pas", "нет"} or re.search(r"[.!?]\s", b):
        return None  # "Pepsi vs. Coke. Go.": the second side ends at its sentence
    if len(a.split()) > 4 or len(b.split()) > 4 or en.has_verb(a) or en.has_verb(b):
        return None
    return a, b


def _comparison(text: str, language: str) -> OpeningReading | None:
    # "Paris vs. Marseille : quelle ville est la meilleure ?", "Pepsi vs. Coke. Go.": the
    # comparison is the first clause; what follows only asks for a pick.
    head = re.split(r"\s*[:,–—]\s+|\s+[–—]\s*", first_sentence(text))[0]
    sides = _comparison_sides(text, language) or (
        _comparison_sides(head, language) if head != text else None
    )
    if sides is None:
        return None
    a, b = sides
    topic = f"{a} vs {b}"
    grammar = other.GRAMMARS.get(language)
    thesis = grammar.rather.format(a=a, b=b) if grammar else en.better_than(a, b)
    return _reading(OpeningKind.COMPARISON, language, topic, thesis)


def _with_topic_for_pronoun(thesis: str, topic: str, language: str = "en") -> str:
    """'it belongs on pizza' with topic 'pineapple on pizza' -> 'pineapple belongs on pizza'."""
    pronoun = _TOPIC_PRONOUN.get(language)
    if not topic or pronoun is None or not pronoun.match(thesis):
        return thesis
    subject = topic
    tail = _PREPOSITION_TAIL.match(topic)
    if tail and tail["tail"].lower() in thesis.lower():
        subject = tail["head"]
    return pronoun.sub(subject[:1].upper() + subject[1:] + " ", thesis, count=1)


# "Argue for/against X" in the languages Kopichat reads.
_DIRECTIONS = {
    **dict.fromkeys(
        ["for", "pour", "a favor de", "für", "dafür", "a favore di", "за", "pro", "affirmative"],
        "for",
    ),
    **dict.fromkeys(
        [
            *"against contre gegen dagegen contro contra против con opposing negative".split(),
            "en contra de",
        ],
        "against",
    ),
}


def _assigned(rest: str, topic: str, language: str) -> OpeningReading | None:
    grammar = other.GRAMMARS.get(language)
    patterns = [*_ASSIGNED_EN, *(grammar.assign if grammar else ())]
    for pattern in patterns:
        match = pattern.search(rest)
        if not match:
            continue
        direction = _DIRECTIONS.get((match.groupdict().get("dir") or "").lower(), "")
        given = clean(first_sentence(match["t"])) or (topic if direction else "")
        if not given:
            continue
        if (
            reads_as_instruction(given)
            or about_the_bot(given, language)
            or addresses_the_bot(given, language)
        ):
            return OpeningReading(OpeningKind.INSTRUCTION, None, language)
        if direction:
            return _assigned_direction(given, direction, topic, language)
        after_dass = re.search(r"\bdass\s*$", rest[: match.start("t")], re.I) is not None
        given = other.main_clause_order(given, language, verb_final=after_dass)
        given = _with_topic_for_pronoun(given, topic, language)
        if language in other.GRAMMARS:  # "convincimi che X sia …": the thesis is indicative
            given = other.indicative(given, language) or given
        if language == "en" and not en.has_verb(given) and len(given.split()) <= _MAX_TOPIC_WORDS:
            return _reading(
                OpeningKind.ASSIGNED,
                language,
                topic or given,
                picked_side(given, language=language),
            )
        return _reading(OpeningKind.ASSIGNED, language, topic, given)
    return None


def _assigned_direction(given: str, direction: str, topic: str, language: str) -> OpeningReading:
    """'argue for cats' under 'Topic: cats vs dogs' -> 'Cats are better than dogs'."""
    if topic and given.lower() in {"it", "this", "that", "them"}:
        given = topic
    sides = _comparison_sides(topic, language) if topic else None
    if sides:
        a, b = sides
        chosen = given.lower()
        if chosen in {a.lower(), b.lower()}:
            winner = a if (chosen == a.lower()) == (direction == "for") else b
            loser = b if winner == a else a
            return _reading(OpeningKind.ASSIGNED, language, topic, en.better_than(winner, loser))
    return _reading(
        OpeningKind.ASSIGNED, language, topic or given, picked_side(given, direction, language)
    )


def _change_my_mind(rest: str, language: str) -> OpeningReading | None:
    for pattern in _CHANGE_MY_MIND:
        match = pattern.match(rest.strip())
        if match:
            return _claim(match["c"], "", language)
    return None


def _lead_in(rest: str, language: str) -> OpeningReading | None:
    match = _LEAD_IN.match(clean(rest))
    if not match:
        return None
    subject = clean(match["t"])
    if match["t"].rstrip().endswith("?") or (words(subject) or [""])[0] in en.AUXILIARIES:
        return _question(match["t"], language)
    whether = re.match(r"^(?:whether|if)\s+(?P<p>.+?)(?:\s+or not)?$", subject, re.I)
    if whether:
        return _reading(OpeningKind.QUESTION, language, subject, whether["p"])
    if en.has_verb(subject):  # "Let's debate: cats are better than dogs" - the bot takes it
        return _reading(OpeningKind.TOPIC, language, subject, subject)
    return _comparison(subject, language) or _reading(
        OpeningKind.TOPIC, language, subject, picked_side(subject, language=language)
    )


def _rather(rest: str, language: str) -> OpeningReading | None:
    """'Would you rather live in the city or the countryside?': the bot takes the first."""
    match = _RATHER.match(clean(first_sentence(rest)) + "?")
    if not match or language != "en":
        return None
    a, b = clean(match["a"]), clean(match["b"])
    verb = "would rather" if match.group(0).lower().startswith("would") else "prefer"
    joiner = "than" if verb == "would rather" else "to"
    return _reading(OpeningKind.COMPARISON, language, f"{a} or {b}", f"I {verb} {a} {joiner} {b}")


def _tagged(rest: str, topic: str, language: str) -> OpeningReading | None:
    """'Cats are better than dogs, right?' asks for agreement with a claim: it is a claim."""
    if claims.without_tag(first_sentence(rest), language) is None:
        return None
    return _claim(rest, topic, language)


def _asked_view(rest: str, topic: str, language: str) -> OpeningReading | None:
    """'Do you think X?' asks the bot's view (it says yes to X); 'Don't you think X?' presumes
    X, the user's own claim. In every language."""
    rules = claims.grammar(language)
    asked = clean(first_sentence(rest).lstrip("¿"))
    if rules is None or not first_sentence(rest).rstrip().endswith("?"):
        return None
    presumed = rules.presumes.match(asked)
    if presumed:
        return _claim(presumed["t"] + ".", topic, language)
    view = rules.asks_view.match(asked)
    if view is None:
        return None
    said = other.main_clause_order(clean(view["t"]), language)
    return _reading(OpeningKind.QUESTION, language, topic or asked + "?", said)


# "Is it just me, or X?": the user's own claim X, asked for company.
_JUST_ME = re.compile(
    r"^(?:is it (?:just|only) me|c['’]est moi|est-ce que c['’]est moi|¿?\s*soy yo|¿?\s*es cosa mía|"
    r"bin (?:das )?nur ich|liegt es an mir|sono (?:solo )?io|è solo una mia impressione|"
    r"sou só eu|é impressão minha|мне кажется|это только мне кажется)\s*,?\s*"
    r"(?:o|or|ou|oder|или)\s+(?P<x>.+?)\s*\?*$",
    re.I,
)


def _just_me(rest: str, topic: str, language: str) -> OpeningReading | None:
    found = _JUST_ME.match(clean(first_sentence(rest)) + "?")
    if found is None:
        return None
    claim = found["x"]
    if language == "en":
        claim = en.answer_yes(claim) or claim  # "has Marvel been …" -> "Marvel has been …"
    elif language == "de" and other.verb_first(claim):
        claim = other.verb_second(claim)
    return _claim(clean(claim) + ".", topic, language)


# "… or not?" in every language read: a yes/no question about what comes before it.
_OR_NOT = re.compile(
    r",?\s+(?:or not|ou pas|ou non|o no|oder nicht|o non|ou não|или нет)\s*(?=\?*$)", re.I
)
# "Quick one: is it …?", "Question sérieuse : …": a few words before a colon that set it up.
_QUESTION_LEAD_IN = re.compile(r"^[^:?]{1,30}?\s*:\s+(?=\S[^:]*\?\s*$)")


def _question(rest: str, language: str) -> OpeningReading | None:
    asked = first_sentence(rest)
    lead_in = _QUESTION_LEAD_IN.match(asked)
    if lead_in and len(words(lead_in.group(0))) <= 3 and not _has_verb(lead_in.group(0), language):
        asked = asked[lead_in.end() :]
    asked = _OR_NOT.sub("", asked)
    first_word = (words(asked) or [""])[0]
    if not asked.endswith("?") and first_word not in en.AUXILIARIES:
        return None
    if language != "en":
        return _question_elsewhere(asked, language)
    question = clean(asked)
    think = _DO_YOU_THINK.match(question)
    if think:
        return _reading(OpeningKind.QUESTION, language, question + "?", think["t"])
    if _WH.match(question):
        return OpeningReading(OpeningKind.UNCLEAR, None, language)
    if first_word in en.AUXILIARIES or first_word.endswith("n't"):
        first_option = re.sub(r"\s+or\s+.+$", "", question, flags=re.I)
        answer = en.answer_yes(first_option)
        if answer is None:
            answer = f"The answer to the question \u201c{question}?\u201d is yes"
        return _reading(OpeningKind.QUESTION, language, question + "?", answer)
    if en.has_verb(question):  # a statement said as a question: the bot says yes
        return _reading(OpeningKind.QUESTION, language, question + "?", question)
    return None


def _question_elsewhere(asked: str, language: str) -> OpeningReading | None:
    """Spanish, Italian, Portuguese, Russian (and French with "est-ce que") ask yes/no
    questions in the order of a statement: the bot says yes to it. German puts the verb first
    ("Sollten Handys verboten werden?"), Russian marks the question with "ли": both are undone."""
    if language not in other.GRAMMARS or claims.asks_what(asked):
        return OpeningReading(OpeningKind.UNCLEAR, None, language)  # "Warum …?": no yes or no
    statement = clean(re.sub(r"^\s*(?:¿|est-ce que\s+|est-ce qu['’])", "", asked, flags=re.I))
    if language == "de":
        statement = other.verb_second(statement)
    elif language == "fr":
        statement = other.french_statement(statement)
    elif language == "ru":
        statement = re.sub(r"(?<=\w)\s+ли\b", "", statement, count=1, flags=re.I)
    if other.is_claim(statement, language) or len(statement.split()) >= 3:
        return _reading(OpeningKind.QUESTION, language, clean(asked) + "?", statement)
    if len(statement.split()) <= _MAX_TOPIC_WORDS:
        return _reading(
            OpeningKind.TOPIC, language, statement, picked_side(statement, language=language)
        )
    return OpeningReading(OpeningKind.UNCLEAR, None, language)


def _own_claim_in(verdict: str, language: str) -> str | None:
    """The user's own claim in their verdict on someone else's: after a colon ("I disagree:
    X"), or an opinion marker after a contrast ("not so sure, but I think X")."""
    _, colon, after = verdict.partition(":")
    if colon and len(words(after)) >= 3:
        return after.strip()
    contrast = re.search(r"\b(?:but|mais|pero|aber|ma|mas|но)\b\s*,?\s*", verdict, re.I)
    if contrast:
        rest = verdict[contrast.end() :]
        if claims.opinion_in(rest, language) is not None:
            return rest
    return None


def _reported_view(rest: str, topic: str, language: str) -> OpeningReading | None:
    """'My brother says X. I disagree.' -> the bot argues X; '… He's right.' -> the bot argues
    against X. Someone else's view, then the user's verdict on it."""
    rules = claims.grammar(language)
    found = sentences(rest)
    if rules is None or len(found) < 2:
        return None
    for said, verdict in itertools.pairwise(found):
        reported = rules.reported.match(clean(said))
        if reported is None or addresses_the_bot(reported["who"], language):
            continue
        claim = other.main_clause_order(clean(reported["c"]), language)
        own = _own_claim_in(verdict, language)
        if own is not None:  # "I disagree: e-scooters are safer than bikes." - that one it is
            return _claim(own, topic, language)
        marked = claims.opinion_in(verdict, language)  # "I think he's wrong", "По-моему, он прав"
        if marked is not None and not marked.denied:
            verdict = marked.claim
        if rules.disagrees.match(verdict):
            denied = claims.frame(claim, language)
            return _reading(OpeningKind.CLAIM, language, topic or _topic_from(claim), claim, denied)
        if rules.agrees.match(verdict):
            return _claim_reading(claim, claims.oppose(claim, language), topic, language)
    return None


def _view_sentence(rest: str, language: str) -> str:
    """The sentence that carries the user's view: the first with an opinion marker, a denial
    or a tag question ("We discussed uniforms today. I think they should go." -> the second);
    else the first."""
    found = sentences(rest)
    for sentence in found:
        if claims.opinion_in(sentence, language) or claims.without_tag(sentence, language):
            return sentence
    return found[0] if found else ""


def _claim(rest: str, topic: str, language: str) -> OpeningReading:
    """The user's own view: the bot argues the opposite (for a denial, what the user denies),
    or asks if it cannot tell what that is."""
    unclear = OpeningReading(OpeningKind.UNCLEAR, None, language)
    rules = claims.grammar(language)
    if rules is None:
        return unclear
    said = _view_sentence(rest, language)
    tagged = claims.without_tag(said, language)
    said = tagged or _EMPHASIS.sub("", said)
    opinion = claims.opinion_in(said.strip(), language)
    claim = clean(opinion.claim if opinion else said)
    if about_the_bot(claim, language):
        return OpeningReading(OpeningKind.INSTRUCTION, None, language)
    claim = claims.core_clause(claim, language)
    if not claim:
        return unclear
    claim = re.sub(
        r"^(it|that|this)'s\b|^(they)'re\b",
        lambda m: f"{m.group(1) or m.group(2)} {'is' if m.group(1) else 'are'}",
        claim,
        flags=re.I,
    )
    if not topic:
        # "I used to think zoos were cruel, but now I'm sure they're essential": "they" is the
        # subject of the view the user turned from.
        topic_before = _subject(claims.view_before_turn(said, language) or "", language)
        claim = _with_topic_for_pronoun(claim, topic_before, language)
    if opinion is not None:
        marker = said.strip()[: len(said.strip()) - len(opinion.claim)]
        if re.search(r"\bdass\s*$", marker, re.I):
            claim = other.main_clause_order(claim, language, verb_final=True)  # "dass" clauses
        elif language == "de" and other.verb_first(claim):
            # "Meiner Meinung nach sollten Kinder …": after a fronted marker the verb comes
            # first; the claim is the main clause "Kinder sollten …".
            claim = other.verb_second(claim)
        if not rules.denial_keeps_mood:
            # "je ne pense pas que la télé rende …", "credo che sia …": the subjunctive of the
            # commonest verbs is made indicative; a denial of any other verb would not read as
            # a sentence, so the bot asks.
            made_indicative = other.indicative(claim, language)
            if made_indicative is None and opinion.denied and not other.is_claim(claim, language):
                return unclear
            claim = made_indicative or claim
    if topic:
        claim = _with_topic_for_pronoun(claim, topic, language)
    if about_the_bot(claim, language):
        return OpeningReading(OpeningKind.INSTRUCTION, None, language)
    # An opinion marker or a tag question says a claim follows, known verb or not.
    asserted = tagged is not None or (opinion is not None and language != "en")
    said_as_sentence = rest.strip().endswith((".", "!")) and not _first_person(claim, language)
    # A statement made as a sentence is a claim, known verb or not ("Phones wreck attention
    # spans."; Russian needs no verb at all: "Сериалы скучные."); its opposite is then the
    # general negation.
    statement = (
        said_as_sentence
        and len(claim.split()) >= (2 if language == "ru" else 4)
        and not _noun_phrase(claim, language)
    )
    if language != "en":
        if _SECOND_PERSON_START.match(claim):
            return unclear  # "você defende X", "Du bist …": about the bot, as "you …" in English
        about_nothing = _first_person(claim, language) or _demonstrative_subject(claim, language)
        if about_nothing and not asserted and claims.framed(claim, language) is None:
            return unclear  # "je sais pas trop", "Das hat Spaß gemacht": nothing to debate
        if not asserted and not statement and not other.is_claim(claim, language):
            named = not said_as_sentence or _noun_phrase(claim, language)
            if len(claim.split()) <= _MAX_TOPIC_WORDS and named:
                return _reading(
                    OpeningKind.TOPIC,
                    language,
                    topic or claim,
                    picked_side(claim, language=language),
                )
            return unclear
    else:
        personal = _personal(claim, topic, language)
        if personal is not None:
            return personal
        if _REQUEST.match(claim) or re.match(r"^(?:you|you're|you are)\b", claim, re.I):
            return unclear
        if _PRONOUN_START.match(claim) and not _EXTRAPOSED.match(claim):
            return unclear
        if not en.has_verb(claim) and not asserted and not statement:
            if len(claim.split()) <= _MAX_TOPIC_WORDS:
                return _reading(
                    OpeningKind.TOPIC,
                    language,
                    topic or claim,
                    picked_side(claim, language=language),
                )
            return unclear
    if opinion is not None and opinion.denied:
        # "I don't think X": the user holds not-X, so the bot argues X itself.
        denied = claims.frame(claim, language)
        thesis = claims.affirmed(claim, language)
        return _reading(OpeningKind.CLAIM, language, topic or _topic_from(claim), thesis, denied)
    return _claim_reading(claim, claims.oppose(claim, language), topic, language)


# Articles and determiners: a few words that open with one and have no known verb name a
# topic ("Le service militaire obligatoire.", "La okupación de viviendas."); they state nothing.
_DETERMINERS = frozenset(
    """the a an le la les l un une des el los las una der die das den ein eine il lo gli
    i uno o os um uma""".split()
)


def _noun_phrase(text: str, language: str) -> bool:
    said = words(text)
    return (
        bool(said)
        and said[0] in _DETERMINERS
        and len(said) <= _MAX_TOPIC_WORDS
        and not _has_verb(text, language)
    )


def _claim_reading(claim: str, opposite: str, topic: str, language: str) -> OpeningReading:
    if clean(opposite).lower() == clean(claim).lower():
        return OpeningReading(OpeningKind.UNCLEAR, None, language)
    return _reading(OpeningKind.CLAIM, language, topic or _topic_from(claim), opposite, claim)


def _personal(claim: str, topic: str, language: str) -> OpeningReading | None:
    """'I love cats' -> against cats; 'I hate Mondays' -> for Mondays; other 'I ...': ask."""
    prefers = _PREFERS.match(claim)
    if prefers:
        a, b = clean(prefers["a"]), clean(prefers["b"])
        return _reading(OpeningKind.CLAIM, language, topic or f"{a} vs {b}", en.better_than(b, a))
    likes = _LIKES.match(claim)
    if likes:
        liked = clean(likes["x"])
        return _reading(
            OpeningKind.CLAIM, language, topic or liked, picked_side(liked, "against", language)
        )
    dislikes = _DISLIKES.match(claim)
    if dislikes:
        disliked = clean(dislikes["x"])
        return _reading(
            OpeningKind.CLAIM, language, topic or disliked, picked_side(disliked, language=language)
        )
    if re.match(r"^(?:i|i'm|i've|i'd|me|my)\b", claim, re.I):
        return OpeningReading(OpeningKind.UNCLEAR, None, language)
    return None
