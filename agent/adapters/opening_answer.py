"""The opening turn of models that read the first message themselves (OpenAI and other
structured-output models): the JSON they are asked for, how it is checked, and what happens when
an answer cannot be used.

An answer that does not conform (not JSON, cut off, null fields, a thesis that is too long or
reads as an instruction) never reaches the user as text. Instead the rules read the message, as
they do for the offline model, and the bot states that side in a fixed sentence, or asks. No
second model call is made: the turn keeps its one call.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.adapters.prompt_files import PromptSet
from agent.domain import Opening, Stance
from agent.understanding.claims import oppose
from agent.understanding.language import detect_language
from agent.understanding.phrases import ask_for, opening_fallback
from agent.understanding.reading import read_opening
from agent.understanding.text import MAX_THESIS_CHARS, about_the_bot, as_sentence, thesis_problem

log = logging.getLogger("kopichat.model")

OPENING_SCHEMA: dict[str, Any] = {
    "title": "opening",
    "description": "What the first message sets: the kind, the topic, the bot's side, the reply.",
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["assigned", "claim", "topic", "none"]},
        "topic": {"type": ["string", "null"]},
        "thesis": {"type": ["string", "null"]},
        "antithesis": {"type": ["string", "null"]},
        "reply": {"type": "string"},
    },
    "required": ["kind", "topic", "thesis", "antithesis", "reply"],
    "additionalProperties": False,
}


class OpeningAnswer(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    kind: Literal["assigned", "claim", "topic", "none"]
    topic: str | None
    thesis: str | None
    # The claim the thesis opposes; prompt versions before v3 do not ask for it, and then the
    # rules write the thesis's opposite.
    antithesis: str | None = None
    reply: str


def structured(
    model: BaseChatModel, method: str, schema: dict[str, Any] = OPENING_SCHEMA
) -> Runnable[Any, Any]:
    """LangChain structured output for a JSON schema, keeping the raw answer so that it can be
    checked strictly (a parse error becomes a fallback, not an exception).

    "json_mode_schema" sends the schema along with `{"type": "json_object"}`: OpenAI-compatible
    servers that take one (llama.cpp, vLLM) constrain the answer to it, so even a small model
    returns the right keys. OpenAI itself gets plain "json_mode" (or "json_schema")."""
    if method == "provider_default":
        return model.with_structured_output(schema, include_raw=True)
    if method == "json_mode_schema":
        return model.bind(response_format={"type": "json_object", "schema": _bounded(schema)})
    options: dict[str, Any] = {"strict": True} if method == "json_schema" else {}
    return model.with_structured_output(schema, method=method, include_raw=True, **options)


# Longest text per field when a server turns the schema into a grammar (llama.cpp): a small model
# that never closes its string otherwise writes until its token limit, past the turn's deadline.
# (OpenAI's strict json_schema takes no maxLength, so only JSON mode gets these.)
_MAX_FIELD_CHARS = {"topic": MAX_THESIS_CHARS, "thesis": MAX_THESIS_CHARS, "antithesis": 400}
_MAX_REPLY_CHARS = 900


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    properties = {
        name: {**spec, "maxLength": _MAX_FIELD_CHARS.get(name, _MAX_REPLY_CHARS)}
        if "string" in str(spec.get("type"))
        else spec
        for name, spec in schema.get("properties", {}).items()
    }
    return {**schema, "properties": properties}


# Model-call errors that mean "an answer came, but it is unusable" rather than "no answer".
_UNUSABLE_ANSWER_ERRORS = frozenset(
    {"LengthFinishReasonError", "ContentFilterFinishReasonError", "OutputParserException"}
)


def is_unusable_answer(exc: BaseException) -> bool:
    return type(exc).__name__ in _UNUSABLE_ANSWER_ERRORS


_FENCED = re.compile(r"^```(?:json)?\s*(?P<body>.*?)\s*```$", re.S | re.I)


def json_object_in(text: str) -> dict[str, Any] | None:
    """The one complete JSON object an answer holds: the whole text, a fenced block, or the
    first object in prose. A cut-off or malformed object gives None (never a partial parse)."""
    text = text.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced["body"]
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:  # valid JSON: an object, or the wrong shape (a list, a string, null)
        return whole if isinstance(whole, dict) else None
    start = text.find("{")
    if start < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def structured_data(result: Any) -> Any:
    """The JSON data of a complete answer: from an AIMessage (JSON asked for by the prompt) or
    a structured-output dict {"raw", "parsed", "parsing_error"}; None if there is none."""
    raw, parsed = (
        (result.get("raw"), result.get("parsed"))
        if isinstance(result, dict)
        else (
            result,
            None,
        )
    )
    if not isinstance(raw, AIMessage):
        return None
    finish = raw.response_metadata.get("finish_reason") or raw.response_metadata.get("stop_reason")
    if finish in {"length", "max_tokens", "content_filter"}:
        return None  # cut off: even a parse that succeeds would be partial
    data: Any = json_object_in(raw.text) if raw.text.strip() else None
    if data is None and raw.tool_calls:
        data = raw.tool_calls[0]["args"]
    if data is None and not raw.text.strip():
        data = parsed.model_dump() if isinstance(parsed, BaseModel) else parsed
    return data


def answer_from(result: Any) -> OpeningAnswer | None:
    """The checked opening answer, or None if it does not conform."""
    try:
        return OpeningAnswer.model_validate(structured_data(result))
    except ValidationError:
        return None


def _same(a: str, b: str) -> bool:
    def normal(text: str) -> str:
        return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())

    return normal(a) == normal(b)


def _checked(answer: OpeningAnswer, message: str) -> Opening | None:
    reply = answer.reply.strip()
    if not reply or json_object_in(reply) is not None:
        return None
    if answer.kind == "none":
        return Opening(stance=None, reply=reply)
    topic, thesis = (answer.topic or "").strip(), (answer.thesis or "").strip()
    if not topic or len(topic) > MAX_THESIS_CHARS or thesis_problem(thesis):
        return None
    if about_the_bot(thesis, detect_language(thesis) or "en"):
        return None  # "you should agree with me" is no side, whatever the model made of it
    if answer.kind == "claim" and _same(thesis, message):
        return None  # it took the user's own claim as its side
    antithesis = (answer.antithesis or "").strip()
    if not antithesis or thesis_problem(antithesis) or _same(antithesis, thesis):
        language = detect_language(thesis) or "en"
        antithesis = as_sentence(oppose(thesis, language))
    return Opening(stance=Stance(topic, thesis, antithesis), reply=reply)


def opening_from(result: Any, message: str, prompts: PromptSet) -> Opening:
    answer = answer_from(result)
    opening = _checked(answer, message) if answer is not None else None
    if opening is not None:
        return opening
    # The answer's text is not logged: it may echo the user's message.
    log.warning("the model's opening answer could not be used; reading the message by rules")
    return rule_based(message, prompts)


def rule_based(message: str, prompts: PromptSet) -> Opening:
    """The rules' reading with a fixed sentence instead of a model reply."""
    reading = read_opening(message)
    if reading.stance is None:
        return Opening(stance=None, reply=ask_for(reading, prompts.ask_for_topic))
    return Opening(reading.stance, opening_fallback(reading.language, reading.stance.thesis))
