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

from langchain_core.runnables import Runnable
from pydantic import ValidationError

from agent.adapters.chat_models import make_chat_model
from agent.adapters.judge import Verdict, judge_chain, judge_messages, parse_verdict
from agent.errors import ConfigError
from agent.settings import load_settings


class JudgeFailed(Exception):
    """The judge gave no usable verdict for one reply."""


@dataclass(frozen=True, slots=True)
class Judge:
    name: str
    chain: Runnable[Any, Any]

    def grade(self, *, topic: str, thesis: str, user: str, reply: str) -> Verdict:
        messages = judge_messages(topic=topic, thesis=thesis, user=user, reply=reply)
        try:
            result = self.chain.invoke(messages)
        except Exception as exc:  # the judge's own failure is recorded, not fatal
            raise JudgeFailed(type(exc).__name__) from None
        try:
            return parse_verdict(result)
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
    method = choice.structured_method or "provider_default"
    return Judge(spec, judge_chain(choice.model, method))
