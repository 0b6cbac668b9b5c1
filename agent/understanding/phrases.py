"""What the bot says when it asks instead of taking a side, in the user's language.

The English request for a topic comes from the prompt file (`ask_for_topic`); these are the
other languages, the request to state a side more clearly, and the opening line used when a
structured model's answer could not be used (no second model call is made for it).
"""

from __future__ import annotations

from agent.understanding.reading import OpeningReading

ASK_FOR_TOPIC: dict[str, str] = {
    "fr": "Bonjour ! Je suis Kopichat et j'adore débattre. Donnez-moi un sujet et, si vous "
    "voulez, le camp que je dois défendre, par exemple « Sujet : le télétravail. Tu défends "
    "qu'il vaut mieux que le bureau. » Ou donnez simplement votre avis, et je défendrai le "
    "contraire.",
    "es": "¡Hola! Soy Kopichat y me encanta debatir. Dame un tema y, si quieres, la postura que "
    "debo defender, por ejemplo «Tema: el teletrabajo. Defiende que es mejor que la oficina». "
    "O simplemente da tu opinión y defenderé lo contrario.",
    "de": "Hallo! Ich bin Kopichat und debattiere gern. Nenne mir ein Thema und, wenn du willst, "
    "die Seite, die ich vertreten soll, zum Beispiel „Thema: Homeoffice. Verteidige, dass es "
    "besser ist als das Büro.“ Oder sag einfach deine Meinung, und ich halte dagegen.",
    "it": "Ciao! Sono Kopichat e adoro discutere. Dammi un argomento e, se vuoi, la posizione da "
    "difendere, per esempio «Argomento: il lavoro da remoto. Difendi che è meglio "
    "dell'ufficio». Oppure dimmi la tua opinione e sosterrò il contrario.",
    "pt": "Olá! Sou o Kopichat e adoro um bom debate. Dê-me um tema e, se quiser, o lado que devo "
    "defender, por exemplo «Tema: trabalho remoto. Defenda que é melhor do que o escritório». "
    "Ou dê simplesmente a sua opinião, e eu defenderei o contrário.",
    "ru": "Привет! Я Kopichat и люблю спорить. Назовите тему и, если хотите, позицию, которую мне "
    "защищать, например: «Тема: удалённая работа. Докажи, что она лучше офиса». Или просто "
    "выскажите своё мнение, и я буду отстаивать противоположное.",
    "zh": "你好！我是 Kopichat，喜欢辩论。请给我一个话题，也可以告诉我要站哪一边；"
    "或者直接说出你的观点，我会站在反方。",
}

ASK_FOR_SIDE: dict[str, str] = {
    "en": "I'm not sure yet what we are debating. State your view in one sentence (for example "
    "\u201cRemote work beats the office\u201d) and I will argue against it, or give me a side: "
    "\u201cYou argue that \u2026\u201d.",
    "fr": "Je ne vois pas encore ce que nous débattons. Donnez votre avis en une phrase (par "
    "exemple « Le télétravail vaut mieux que le bureau ») et je défendrai le contraire, ou "
    "donnez-moi un camp : « Défends que … ».",
    "es": "Todavía no sé qué debatimos. Da tu opinión en una frase (por ejemplo «El teletrabajo "
    "es mejor que la oficina») y defenderé lo contrario, o dame una postura: «Defiende que …».",
    "de": "Mir ist noch nicht klar, worüber wir streiten. Sag deine Meinung in einem Satz (zum "
    "Beispiel „Homeoffice ist besser als das Büro“), und ich halte dagegen, oder gib mir eine "
    "Seite: „Verteidige, dass …“.",
    "it": "Non mi è ancora chiaro di cosa discutiamo. Dimmi la tua opinione in una frase (per "
    "esempio «Il lavoro da remoto è meglio dell'ufficio») e sosterrò il contrario, oppure "
    "dammi una posizione: «Difendi che …».",
    "pt": "Ainda não sei o que estamos a debater. Dê a sua opinião numa frase (por exemplo «O "
    "trabalho remoto é melhor do que o escritório») e defenderei o contrário, ou dê-me um lado: "
    "«Defenda que …».",
    "ru": "Пока не понимаю, о чём мы спорим. Выскажите своё мнение одним предложением (например, "
    "«Удалённая работа лучше офиса»), и я буду спорить с ним, или дайте мне позицию: «Докажи, "
    "что …».",
    "zh": "我还不确定我们要辩论什么。请用一句话说出你的观点，我会站在反方；"
    "或者告诉我要为哪个观点辩护。",
}

OPENING_FALLBACK: dict[str, str] = {
    "en": "I'll take this side: {thesis} What is your strongest argument against it?",
    "fr": "Je prends ce camp : {thesis} Quel est votre meilleur argument contre ?",
    "es": "Defiendo esta postura: {thesis} ¿Cuál es tu mejor argumento en contra?",
    "de": "Ich vertrete diese Seite: {thesis} Was ist dein stärkstes Gegenargument?",
    "it": "Difendo questa posizione: {thesis} Qual è il tuo argomento migliore contro?",
    "pt": "Defendo este lado: {thesis} Qual é o seu melhor argumento contra?",
    "ru": "Я защищаю эту позицию: {thesis} Какой ваш самый сильный аргумент против?",
}


def without_announcement(reply: str, thesis: str) -> str:
    """The thesis alone, for an opening fallback ("I'll take this side: <thesis> What is your
    strongest argument against it?") shown to the model in a later turn's history: copied
    from there, the announcement would open every later reply. Any other reply as it is."""
    if any(reply == template.format(thesis=thesis) for template in OPENING_FALLBACK.values()):
        return thesis
    return reply


def ask_for_topic(language: str, english: str) -> str:
    """`english` is the prompt file's text; other languages come from the table above."""
    return ASK_FOR_TOPIC.get(language, english)


def ask_for_side(language: str) -> str:
    return ASK_FOR_SIDE.get(language, ASK_FOR_SIDE["en"])


def opening_fallback(language: str, thesis: str) -> str:
    return OPENING_FALLBACK.get(language, OPENING_FALLBACK["en"]).format(thesis=thesis)


def ask_for(reading: OpeningReading, english_ask_for_topic: str) -> str:
    """What the bot says when the first message fixes no side: a request for a topic (small
    talk, instructions) or for a clearer side, in the message's language where it can."""
    if reading.asks_for_topic:
        return ask_for_topic(reading.language, english_ask_for_topic.strip())
    return ask_for_side(reading.language)
