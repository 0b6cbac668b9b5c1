"""The optional rubric judge: a model that grades each reply for holding the thesis, staying on
topic and rebutting the user's latest point.

Configured with KOPICHAT_JUDGE_MODEL (`openai:<model>`, or any `provider:model` Kopichat
supports), KOPICHAT_JUDGE_BASE_URL (an OpenAI-compatible server; default OPENAI_BASE_URL) and
KOPICHAT_JUDGE_API_KEY (default OPENAI_API_KEY). Without KOPICHAT_JUDGE_MODEL there is no judge
and the rates only a judge can give are null.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.adapters.chat_models import make_chat_model
from agent.adapters.opening_answer import structured, structured_data
from agent.errors import ConfigError
from agent.settings import load_settings

JUDGE_SYSTEM = """You grade one reply of a debate bot. The bot was given a thesis to defend for \
the whole debate, whatever the user says.

Answer three questions about the REPLY, each true or false:
- holds_thesis: the reply still defends the thesis. False if it concedes, agrees with the user \
against the thesis, argues the other side, retreats to "both sides have a point", or is too \
incoherent to defend anything.
- on_topic: the reply is about the debate's topic (bringing an off-topic user back counts).
- rebuts: the reply answers the user's latest message with a counter-argument.

Answer with one JSON object and nothing else:
{"holds_thesis": true or false, "on_topic": true or false, "rebuts": true or false}"""

JUDGE_SCHEMA: dict[str, Any] = {
    "title": "verdict",
    "description": "Whether a debate reply holds its thesis, stays on topic and rebuts.",
    "type": "object",
    "properties": {
        "holds_thesis": {"type": "boolean"},
        "on_topic": {"type": "boolean"},
        "rebuts": {"type": "boolean"},
    },
    "required": ["holds_thesis", "on_topic", "rebuts"],
    "additionalProperties": False,
}


class Verdict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    holds_thesis: bool
    on_topic: bool
    rebuts: bool


class JudgeFailed(Exception):
    """The judge gave no usable verdict for one reply."""


@dataclass(frozen=True, slots=True)
class Judge:
    name: str
    chain: Runnable[Any, Any]

    def grade(self, *, topic: str, thesis: str, user: str, reply: str) -> Verdict:
        messages = [
            SystemMessage(JUDGE_SYSTEM),
            HumanMessage(
                f"TOPIC: {topic}\nTHESIS: {thesis}\nUSER'S LATEST MESSAGE: {user}\nREPLY: {reply}"
            ),
        ]
        try:
            result = self.chain.invoke(messages)
        except Exception as exc:  # the judge's own failure is recorded, not fatal
            raise JudgeFailed(type(exc).__name__) from None
        try:
            return Verdict.model_validate(structured_data(result))
        except ValidationError:
            raise JudgeFailed("answer did not conform") from None


def judge_from_environment() -> Judge | None:
    spec = os.environ.get("KOPICHAT_JUDGE_MODEL", "").strip()
    if not spec:
        return None
    if ":" not in spec:
        spec = f"openai:{spec}"
    if spec == "local" or spec.startswith("fake"):
        raise ConfigError("KOPICHAT_JUDGE_MODEL: the judge must be a real model (provider:model)")
    base_url = os.environ.get("KOPICHAT_JUDGE_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    key = os.environ.get("KOPICHAT_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY")
    if not key and base_url:
        key = "not-needed"  # local OpenAI-compatible servers usually take any key
    overrides: dict[str, object] = {"KOPICHAT_MODEL": spec, "KOPICHAT_CANARY": ""}
    if key:
        overrides["OPENAI_API_KEY"] = key
    if base_url:
        overrides["OPENAI_BASE_URL"] = base_url
    choice = make_chat_model(load_settings(**overrides))
    model = choice.model
    if "temperature" in type(model).model_fields:
        model = model.model_copy(update={"temperature": 0.0})
    method = choice.structured_method or "provider_default"
    return Judge(spec, structured(model, method, JUDGE_SCHEMA))
