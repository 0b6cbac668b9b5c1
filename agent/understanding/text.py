"""Text checks the opening rules need in every language: small talk, instructions to the bot,
sentences, and the shape of a clean thesis."""

from __future__ import annotations

import re

from agent.understanding.language import detect_language, words
from agent.understanding.sentences import split_sentences

MAX_THESIS_CHARS = 200

# Words that make up greetings, thanks and chit-chat, with the language each one points to
# ("" when it says nothing about the language).
_SMALL_TALK: dict[str, str] = {
    **dict.fromkeys(
        "hi hello hey heya hiya yo howdy greetings sup wassup good morning afternoon evening "
        "night day bye goodbye cya later thanks thank thx ty tysm cheers lol lmao rofl haha "
        "hahaha hehe xd okay kk cool nice great awesome sure yeah yep yup nope nah please help "
        "test testing ping there everyone all guys folks friend buddy mate bot how doing what's "
        "whats up much lot very again welcome hmm hm um uh well wow oh ah sorry who what is one "
        "hope you're "
        "this it me meet i'm am fine are you your a so to".split(),
        "en",
    ),
    **dict.fromkeys(["ok", "k", "yes", "no", "kopichat"], ""),
    **dict.fromkeys(
        "salut bonjour bonsoir coucou merci beaucoup bonne nuit journée soirée ça va oui "
        "d'accord mdr revoir plus tard comment vas allez vous bien tu".split(),
        "fr",
    ),
    **dict.fromkeys(
        "hola buenos buenas días dias tardes noches gracias muchas muchísimas adiós adios qué "
        "tal vale sí jaja jajaja cómo estás estas bien hasta luego todo".split(),
        "es",
    ),
    **dict.fromkeys(
        "hallo servus moin guten tag morgen abend gute nacht danke schön schoen vielen dank "
        "tschüss tschüs ja nein wie geht's gehts es dir ihnen gut nochmal für gestern".split(),
        "de",
    ),
    **dict.fromkeys(
        "ciao buongiorno buonasera buonanotte grazie mille sì come stai bene salve buona serata "
        "giornata".split(),
        "it",
    ),
    **dict.fromkeys(
        "olá ola oi bom dia boa tarde noite obrigado obrigada tchau sim não tudo bem vai "
        "valeu".split(),
        "pt",
    ),
    **dict.fromkeys(
        "привет здравствуйте здравствуй добрый день вечер утро доброе спокойной ночи спасибо "
        "большое пока да нет как дела хорошо ок ты классный молодец".split(),
        "ru",
    ),
}
# Greetings in scripts written without spaces, matched whole.
_SMALL_TALK_WHOLE: dict[str, str] = {
    **dict.fromkeys(["你好", "您好", "谢谢", "早上好", "晚安", "再见", "大家好"], "zh"),
    **dict.fromkeys(["こんにちは", "ありがとう", "おはよう", "こんばんは"], "ja"),
    **dict.fromkeys(["안녕하세요", "감사합니다"], "ko"),
    **dict.fromkeys(["مرحبا", "شكرا"], "ar"),
}
_MAX_SMALL_TALK_WORDS = 8
_LAUGHTER = re.compile(r"^(?:(?:[hj]a){2,}h?|(?:he){2,}|(?:ха){2,}|(?:ах){2,}а?|k{3,}|x+d+)$")
_THANKS = frozenset(
    "thanks thank thx ty merci gracias danke grazie obrigado obrigada valeu спасибо".split()
)
_MAX_THANKS_WORDS = 6
_CONTRAST_WORDS = frozenset("but however mais pero aber ma però mas но однако".split())


def small_talk_language(text: str) -> str | None:
    """The language of a message that is only small talk ("" if it does not tell), else None."""
    squeezed = re.sub(r"[\W_]+", "", text)
    if not squeezed:  # emoji and punctuation only
        return ""
    if squeezed in _SMALL_TALK_WHOLE:
        return _SMALL_TALK_WHOLE[squeezed]
    tokens = [t for t in words(text) if not _LAUGHTER.match(t)]
    if not tokens:
        return ""
    thanked = [t for t in tokens if t in _THANKS]
    one_sentence = not re.search(r"[.!?]\s+\w", text.strip())
    if thanked and one_sentence and len(tokens) <= _MAX_THANKS_WORDS:
        # "Danke, hat Spaß gemacht!", "Jajaja buenísimo, gracias": thanks and a remark, not
        # "Thanks, but cats are better" nor "Thanks! Cats are better."
        if set(tokens) & _CONTRAST_WORDS:
            return None
        return _SMALL_TALK[thanked[0]]
    if len(tokens) > _MAX_SMALL_TALK_WORDS or any(t not in _SMALL_TALK for t in tokens):
        return None
    hints = [_SMALL_TALK[t] for t in tokens if _SMALL_TALK[t]]
    non_english = [h for h in hints if h != "en"]
    return non_english[0] if non_english else (hints[0] if hints else "")


# Text that tries to instruct the bot: reveal or change its rules, its role or its side.
_INSTRUCTION_PATTERNS = [
    # English
    r"\b(?:ignore|disregard|forget|override|bypass|drop)\b.{0,40}?\b(?:instructions?|rules?|"
    r"prompts?|guidelines|programming|restrictions|directives|everything (?:above|before))\b",
    r"\bsystem\s*(?:prompt|message|instructions?)\b",
    r"\byour (?:instructions|prompt|guidelines|rules|programming)\b",
    r"\bthe (?:initial|hidden|original|secret) (?:prompt|instructions)\b",
    r"\b(?:reveal|show|print|repeat|tell me|give me|output|display|leak|share|write out)\b"
    r".{0,30}?\b(?:your|the (?:system|hidden|initial|original|secret))\s+(?:\w+\s+)?"
    r"(?:instructions?|prompt|rules|configuration)\b",
    r"\brepeat (?:everything|the text|all|the words)\b.{0,30}?\b(?:above|before|earlier)\b",
    r"(?:^|\b(?:just|please|you|must|should|to|now|and|then)\s+)agree with (?:me|everything)\b",
    r"\btake my side\b",
    r"\b(?:switch|change) (?:sides?|your (?:side|position|stance|role))\b",
    r"\bchange the (?:topic|subject)\b",
    r"\b(?:pretend|imagine) (?:that )?(?:you are|you're|to be)\b",
    r"(?:^|\b(?:you|please|now|and|to)\s+)act as\b",
    r"\b(?:you are|you're) now\b",
    r"\bfrom now on,? you\b",
    r"\brole[- ]?play\b",
    r"\bjailbreak\b",
    r"\bdeveloper mode\b",
    r"\byou (?:must|have to|need to|will|should|shall) (?:agree|obey|comply|concede|admit|"
    r"reveal|ignore|forget)\b",
    r"\b(?:admit|concede) (?:that )?(?:you are|you're|you were) wrong\b",
    r"\bsay (?:that )?(?:you agree|i'm right|i am right|you are wrong|you're wrong)\b",
    r"\bwrite (?:me )?(?:a|an) (?:poem|story|essay|song|code|program|email|letter|joke)\b",
    r"^\s*(?:say|print|output|type|repeat|write|answer with|reply with|respond with)\s*:?\s*"
    r"[\"'“‘«]",
    r"\bprevious (?:instructions|prompts?|messages)\b",
    # French
    r"\b(?:ignore|ignorez|oublie|oubliez)\b.{0,30}?\b(?:instructions?|règles|consignes|prompt)",
    r"\b(?:tes|vos|ton|votre) (?:instructions|consignes|règles|prompt)\b",
    r"\bprompt syst[èe]me\b",
    r"\b(?:sois|soyez) d['’]accord avec moi\b",
    r"\b(?:donne|donnez)-moi raison\b",
    r"\b(?:change|changez) (?:de|le) sujet\b",
    # Spanish
    r"\b(?:ignora|ignore|olvida|olvide)\b.{0,30}?\b(?:instrucciones|reglas|prompt|indicaciones)",
    r"\btus (?:instrucciones|reglas|indicaciones)\b",
    r"\bdame la raz[oó]n\b",
    r"\bcambia de tema\b",
    r"\best[eé]s? de acuerdo conmigo\b",
    # German
    r"\b(?:ignoriere|ignorier|vergiss|ignorieren|vergessen)\b.{0,30}?\b(?:anweisungen|regeln|"
    r"vorgaben|prompt)",
    r"\bdeine (?:anweisungen|regeln|vorgaben)\b",
    r"\bsystem-?prompt\b",
    r"\bstimm(?:e|en sie)? mir zu\b",
    r"\bgib mir recht\b",
    r"\bwechsle das thema\b",
    # Italian and Portuguese
    r"\b(?:ignora|dimentica)\b.{0,30}?\b(?:istruzioni|regole|prompt)",
    r"\bdammi ragione\b",
    r"\bcambia argomento\b",
    r"\b(?:esqueça|esqueca|ignore)\b.{0,30}?\b(?:instruções|instrucoes|regras)",
    r"\bconcorde comigo\b",
    r"\bmude de assunto\b",
    # Any of the languages: "from now on …", a new role ("You are now a translator", "Eres un
    # asistente"), and "show me your instructions"
    r"\b(?:à partir de maintenant|désormais|a partir de ahora|de ahora en adelante|ab jetzt|"
    r"ab sofort|von nun an|d['’]ora in (?:poi|avanti)|da ora in poi|da adesso in poi|"
    r"a partir de agora|de agora em diante|с этого момента|отныне)\b.{0,40}?(?:\b(?:tu|te|toi|vous|"
    r"tú|du|dich|dir|ti|você|ты|тебе|вы)\b|répond|respond|antwort|rispond|отвеча)",
    r"\b(?:(?:tu es|vous êtes|eres|es usted|du bist|sie sind|sei|você é|tu és|ты|вы)\s+"
    r"(?:maintenant\s+|ahora\s+|(?:ab )?jetzt\s+|ora\s+|agora\s+|теперь\s+)?|(?:maintenant|"
    r"ahora|jetzt|ora|agora|теперь)\s+(?:tu es|eres|bist du|sei|você é|ты)\s+)(?:un|une|uno|una|"
    r"ein|eine|um|uma|mon|ma|mi|mein|meine|il mio|la mia|meu|minha|мой|моя)?\s*(?:assistant|"
    r"asistente|assistent|assistente|ассистент|помощник|traducteur|traductor|übersetzer|"
    r"traduttore|tradutor|переводчик|chatbot|bot|ia|ki|ии|avocat|abogado|anwalt|avvocato|"
    r"advogado|адвокат)\b",
    # "pretend to be …" in the other languages
    r"\b(?:fais comme si tu|faites comme si vous|haz como que|haga como que|finge que|finja que|"
    r"fingi di|fai finta di|tu so,? als ob du|tun sie so,? als ob|притворись|представь,? что ты)\b",
    r"\b(?:forget|oublie|oubliez|olvida|olvide|vergiss|vergessen sie|dimentica|esquece|esqueça|"
    r"забудь|забудьте)\b.{0,30}?(?:\bbot\b|\brôle\b|\brol\b|\brolle\b|\bruolo\b|\bpapel\b|"
    r"\bроль|\bбот)",
    r"\bconcord[ae] comigo\b|\bdaqui (?:pra|para a) frente\b.{0,40}?\b(?:você|tu|te)\b",
    r"\b(?:montre|montrez|affiche|révèle|muestra|muéstrame|enséñame|revela|zeig|zeige|verrate|"
    r"mostra|mostrami|rivela|mostre|me mostra|покажи|раскрой|выведи)\b.{0,40}?"
    r"(?:instructions|consignes|instrucciones|anweisungen|istruzioni|instruções|инструкци|prompt)",
    # Russian
    r"(?:игнорируй|забудь|проигнорируй)\w*.{0,30}?(?:инструкци|правил|промпт)",
    r"системн\w* (?:промпт|подсказк|инструкци)",
    r"\b(?:твои|ваши) (?:инструкции|правила)\b",
    r"согласись со мной",
    r"смени тему",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I | re.S)
_DAN = re.compile(r"\bDAN\b")


def reads_as_instruction(text: str) -> bool:
    """Whether the text tries to instruct the bot (reveal or change its rules, role or side)."""
    return bool(_INSTRUCTION.search(text) or _DAN.search(text))


# The bot is "you" to the user: a side about "you" is about the bot, whatever it says.
# Pronouns, and the second-person forms of the commonest verbs where the pronoun is usually
# dropped ("dovresti darmi ragione"); the bot's own name counts too.
_SECOND_PERSON = {
    "en": "you your yours yourself you're you've you'll",
    "fr": "tu te toi ton ta tes vous votre vos t' dois devrais peux pourrais es",
    "es": "tú te ti tus usted contigo eres estás debes deberías puedes podrías tienes quieres",
    "de": "du dich dir dein deine deinen deinem deiner bist sollst solltest musst kannst",
    "it": "tu ti te tuo tua tuoi tue sei devi dovresti puoi potresti vuoi rispondi fai dici",
    "pt": "você tu te ti teu tua seu sua contigo és deves deverias podes",
    "ru": "ты тебя тебе тобой твой твоя твои вы вас вам ваш ваша",
}
_SECOND_PERSON_WORDS = {
    lang: frozenset([*ws.split(), "kopichat"]) for lang, ws in _SECOND_PERSON.items()
}
# What a bot does in a conversation: agreeing, obeying, revealing, its rules, role and side.
_BOT_CONDUCT = re.compile(
    r"\b(?:agree\w*|obey\w*|compl(?:y|ies)|conced\w*|admit\w*|reveal\w*|instructions?|prompts?|"
    r"rules?|role|sides?|programm\w*|d['’]accord|raison|consignes?|règles?|instrucciones|reglas?|"
    r"razón|recht|zustimm\w*|anweisungen|regeln|ragione|istruzioni|regole|razão|regras?|regel|"
    r"regola|"
    r"instruções|concord\w*|соглас\w*|прав[аы]?|инструкци\w*|правил\w*)\b",
    re.I,
)
_USER_IS_RIGHT = re.compile(
    r"\b(?:i am|i'm|the user is|users are|i was)\s+(?:always\s+)?right\b|"
    r"\bj['’]ai (?:toujours )?raison\b|\btengo (?:siempre )?razón\b|\bich habe (?:immer )?recht\b|"
    r"\bho (?:sempre )?ragione\b|\beu tenho (?:sempre )?razão\b|\bя (?:всегда )?прав[аы]?\b",
    re.I,
)


def addresses_the_bot(text: str, language: str) -> bool:
    """Whether `text` speaks of "you", the bot (second person)."""
    found = set(words(text)) | set(re.findall(r"\bt['’]", text.lower()))
    return bool(found & _SECOND_PERSON_WORDS.get(language, _SECOND_PERSON_WORDS["en"]))


def about_the_bot(text: str, language: str) -> bool:
    """Whether a would-be side is about the bot's own conduct (agree, obey, reveal, its rules,
    role or side) or says the user is right: an instruction, never a side."""
    if _USER_IS_RIGHT.search(text):
        return True
    return addresses_the_bot(text, language) and bool(_BOT_CONDUCT.search(text))


def sentences(text: str) -> list[str]:
    return split_sentences(text, detect_language(text))


_QUOTES = "\"'“”‘’«»„「」"


def clean(text: str) -> str:
    """One line, no surrounding quotes, no trailing punctuation."""
    text = re.sub(r"\s+", " ", text).strip()
    text = text.strip(_QUOTES + " ¿¡")
    return text.rstrip(".!?;:,…" + _QUOTES + " ").strip()


def as_sentence(text: str) -> str:
    """Capitalised, ending with a full stop ("iPhone" keeps its small i)."""
    text = clean(text)
    if not text:
        return text
    if not (len(text) > 1 and text[1].isupper()):
        text = text[:1].upper() + text[1:]
    return text + "."


def first_sentence(text: str) -> str:
    found = sentences(text)
    return found[0] if found else ""


def thesis_problem(thesis: str) -> str | None:
    """Why a thesis cannot be used as it is, or None if it is one clean sentence."""
    if not thesis.strip():
        return "empty"
    if len(thesis) > MAX_THESIS_CHARS:
        return "longer than 200 characters"
    if len(sentences(thesis)) > 1:
        return "more than one sentence"
    if reads_as_instruction(thesis):
        return "reads as an instruction to the bot"
    return None
