"""English grammar for the opening rules: a yes/no question turned into the claim that answers
it, the opposite of a claim, and "X is better than Y".

Word lists, not a parser: each function either returns a clean sentence or None, so the caller
can ask the user instead of guessing.
"""

from __future__ import annotations

import re

from agent.understanding.language import words

AUXILIARIES = frozenset(
    "is are was were am do does did should shall can could will would must may might has have "
    "had ought".split()
)
_COPULAS = frozenset({"is", "are", "was", "were", "am"})
FINITE = AUXILIARIES | _COPULAS  # the verbs that end a subject ("zoos | were cruel")
_PRONOUN_SUBJECTS = frozenset(
    "i you we they he she it there people everyone someone anyone humans kids children".split()
)
_DETERMINERS = frozenset(
    "a an the this that these those my your our their his her its some any every all no".split()
)
_PREPOSITIONS = frozenset(
    "for to than in on at by with from about against into over under without between".split()
)
# The closed classes: English's stop-word list is far wider ("good", "great", "new").
CLOSED_CLASS = AUXILIARIES | _DETERMINERS | _PREPOSITIONS | _PRONOUN_SUBJECTS
_ADVERBS = frozenset("really actually truly more less too so very always still even".split())
_ADJECTIVES = frozenset(
    "safe good bad better worse best worst fair unfair right wrong real true false free fine ok "
    "okay dead alive necessary ethical unethical moral immoral healthy unhealthy dangerous "
    "important possible impossible useful useless fun cool smart fake legal illegal cruel "
    "efficient sustainable relevant inevitable overrated underrated natural safer cheaper "
    "healthier ready sexist racist toxic evil worth".split()
)
_ADJECTIVE_ENDINGS = ("ed", "able", "ible", "ful", "ous", "ive", "ical", "less", "ish")

# Base forms of verbs that debate claims and questions use; with the endings below, enough to
# find where a subject ends ("Should schools | ban phones?", "Video games | cause violence").
_VERBS = frozenset(
    "be have do go get make take give use allow ban replace pay buy sell eat drink live work "
    "vote own require abolish regulate tax fund teach learn study stop start end exist matter "
    "help hurt harm cause change save kill protect prevent reduce increase improve destroy "
    "create build win lose beat lead follow trust believe need want like love hate prefer "
    "choose keep leave stay return play watch read write speak talk think know feel become "
    "remain seem look mean cost spend invest earn grow spread solve fix fight support oppose "
    "accept reject apply belong deserve serve explore travel move drive ride fly run walk wear "
    "include exclude open close rule govern control limit restrict outlaw permit punish reward "
    "treat survive succeed fail outperform compete marry raise lower cut rise fall happen last "
    "prove bring send let put see come sleep die cure pollute threaten benefit damage waste "
    "count bark quit try wait visit join share post ask answer hire fire sue adopt recycle "
    "vaccinate homeschool act agree".split()
)
_VERB_ENDINGS = ("ize", "ise", "ify")

CONTRACTIONS = {  # a negated auxiliary, and the auxiliary without its negation
    "isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were", "shouldn't": "should",
    "won't": "will", "can't": "can", "couldn't": "could", "wouldn't": "would",
    "doesn't": "does", "don't": "do", "didn't": "did", "mustn't": "must", "haven't": "have",
    "hasn't": "has", "hadn't": "had",
}  # fmt: skip
# Typed without the apostrophe ("i dont think", "its not", "im sure"): the same words.
_NO_APOSTROPHE = re.compile(
    r"\b(?:" + "|".join(c.replace("'", "") for c in CONTRACTIONS) + r"|im|ive|youre|theyre)\b",
    re.I,
)
_WITH_APOSTROPHE = {
    c.replace("'", ""): c for c in [*CONTRACTIONS, "i'm", "i've", "you're", "they're"]
}


def with_apostrophes(text: str) -> str:
    """'i dont think' -> "i don't think"; "wont" -> "won't". The case of the first letter stays."""

    def restore(match: re.Match[str]) -> str:
        said = match.group(0)
        full = _WITH_APOSTROPHE[said.lower()]
        return full[:1].upper() + full[1:] if said[:1].isupper() else full

    return _NO_APOSTROPHE.sub(restore, text)


_PERSON_SWAP = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "your": "my",
}  # fmt: skip


def _is_verb(word: str) -> bool:
    word = word.lower()
    return word in _VERBS or (len(word) > 5 and word.endswith(_VERB_ENDINGS))


def _third_person_base(word: str) -> str | None:
    """'belongs' -> 'belong', 'goes' -> 'go', 'has' -> 'have'; None if not a known verb."""
    word = word.lower()
    if word == "has":
        return "have"
    if word == "does":
        return "do"
    for cut in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(cut[0]):
            base = word[: -len(cut[0])] + cut[1]
            if _is_verb(base):
                return base
    return None


# Common irregular past forms; regular ones are found by their "-ed" ending.
_IRREGULAR_PAST = frozenset(
    "made went took gave became brought came got saw did had was were said thought found left "
    "kept began built fell grew led lost met paid put ran sold sent spent stood taught told won "
    "wrote broke chose drove ate forgot hid held knew rose shook spoke stole threw understood "
    "wore".split()
)


def _past_base(word: str) -> str | None:
    """'improved' -> 'improve', 'banned' -> 'ban', 'made' -> 'made'; None if not a known verb."""
    word = word.lower()
    if word in _IRREGULAR_PAST:
        return word
    if not word.endswith("ed") or len(word) < 5:
        return None
    stem = word[:-2]
    for base in (stem, stem + "e", stem[:-1], stem[:-1] + "y" if stem.endswith("i") else ""):
        if base and _is_verb(base):
            return base
    return None


def _is_adjective(word: str) -> bool:
    word = word.lower()
    if word in _ADJECTIVES:
        return True
    return len(word) > 4 and word.endswith(_ADJECTIVE_ENDINGS) and not word.endswith("ment")


def is_plural(noun_phrase: str) -> bool:
    tokens = noun_phrase.lower().split()
    if not tokens:
        return False
    if " and " in f" {noun_phrase.lower()} ":
        return True
    last = tokens[-1]
    return last.endswith("s") and not last.endswith(("ss", "us", "is", "ics")) and len(last) > 3


def better_than(a: str, b: str) -> str:
    verb = "are" if is_plural(a) else "is"
    return f"{a} {verb} better than {b}"


def _copula_split(rest: list[str]) -> int | None:
    """Where the predicate starts in "<subject> <predicate>" after "Is/Are ...", or None."""
    low = [t.lower() for t in rest]
    n = len(low)
    if n < 2:
        return None
    progressive = next((i for i in range(1, n) if low[i].endswith("ing") and len(low[i]) > 4), None)
    if "worth" in low[1:]:
        k = low.index("worth", 1)
    elif progressive is not None and low[progressive - 1] not in _DETERMINERS:
        k = progressive  # "Is social media | making us lonely"
    elif _is_adjective(low[-1]):
        k = n - 1
    else:
        preposition = next(
            (i for i in range(2, n) if low[i] in _PREPOSITIONS and low[i] != "of"), None
        )
        determiner = next((i for i in range(n - 1, 0, -1) if low[i] in _DETERMINERS), None)
        if preposition is not None:
            k = preposition - 1
        elif determiner is not None:
            k = determiner
        else:
            k = n - 1
    while k - 1 >= 1 and low[k - 1] in _ADVERBS:
        k -= 1
    if low[k - 1] in _DETERMINERS | _PREPOSITIONS:
        return None
    return k


def _verb_split(rest: list[str]) -> int | None:
    """Where the verb starts in "<subject> <verb ...>" after "Should/Can/Does ...", or None."""
    low = [t.lower() for t in rest]
    window = range(1, min(len(low), 6))
    for strong in ("be", "been", "have", "get"):  # "Has Marvel | been putting out …"
        if strong in low[1:6]:
            return low.index(strong, 1)
    # A base verb, or a past participle after "Has/Have ...": "Has the internet | made us dumber".
    k = next((i for i in window if _is_verb(low[i]) or _past_base(low[i]) is not None), None)
    if k is None and low and low[0] in _PRONOUN_SUBJECTS and len(low) > 1:
        return 1
    return k


def answer_yes(question: str) -> str | None:
    """The claim that says yes to a yes/no question ("Should we colonize Mars" -> "We should
    colonize Mars"), or None when the question's parts cannot be told apart."""
    tokens = question.split()
    if len(tokens) < 2:
        return None
    aux = CONTRACTIONS.get(tokens[0].lower(), tokens[0].lower())
    if aux not in AUXILIARIES:
        return None
    # The thesis is the bot's: "Should I ..." -> "You should ...", "Do you ..." -> "I do ...".
    original = [t for t in tokens[1:] if t.lower() != "ever"]
    rest = [
        "I" if i == 0 and t.lower() == "you" else _PERSON_SWAP.get(t.lower(), t)
        for i, t in enumerate(original)
    ]
    if aux in _COPULAS:
        k = 1 if rest[0].lower() == "there" else _copula_split(rest)
    else:
        k = _verb_split(rest)
    if k is None or k < 1 or k >= len(rest):
        return None
    subject, predicate = " ".join(rest[:k]), " ".join(rest[k:])
    return f"{subject} {aux} {predicate}"


def _do_support(claim: str) -> str | None:
    """'Video games cause violence' -> 'Video games do not cause violence'."""
    tokens = claim.split()
    for i in range(1, min(len(tokens), 7)):
        previous = tokens[i - 1].lower()
        if previous in _DETERMINERS:
            continue
        base = _third_person_base(tokens[i])
        if base is not None and tokens[i].lower() not in _VERBS:
            return " ".join([*tokens[:i], "does not", base, *tokens[i + 1 :]])
        if _is_verb(tokens[i]) and (previous.endswith("s") or previous in _PRONOUN_SUBJECTS):
            return " ".join([*tokens[:i], "do not", tokens[i].lower(), *tokens[i + 1 :]])
    return None


def has_verb(text: str) -> bool:
    """Whether an English text reads as a clause rather than a noun phrase."""
    tokens = words(text)
    if any(t in AUXILIARIES or t in CONTRACTIONS or t in {"cannot", "never"} for t in tokens):
        return True
    if any(t in {"better", "worse", "best", "worst"} for t in tokens):
        return True
    return (
        any(_third_person_base(t) is not None and t not in _VERBS for t in tokens[1:])
        or any(_past_base(t) is not None for t in tokens[1:])
        or _do_support(" ".join(tokens)) is not None
    )
