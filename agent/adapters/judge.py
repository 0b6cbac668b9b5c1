"""A rubric judge: a second model that grades one debate reply for holding the thesis, staying
on topic and rebutting the user's latest point.

The stance guard asks it whether a reply still holds the thesis (by default with an
OpenAI-compatible debate model, which then judges too; `KOPICHAT_GUARD_JUDGE_MODEL` names another
or turns it off); the evaluation harness (evals/judge.py) grades every reply with it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.adapters.opening_answer import structured, structured_data
from agent.understanding.guard import JUDGE_TIMEOUT_S, Judge

log = logging.getLogger("kopichat.model")


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


def judge_messages(*, topic: str, thesis: str, user: str, reply: str) -> list[BaseMessage]:
    return [
        SystemMessage(JUDGE_SYSTEM),
        HumanMessage(
            f"TOPIC: {topic}\nTHESIS: {thesis}\nUSER'S LATEST MESSAGE: {user}\nREPLY: {reply}"
        ),
    ]


def judge_chain(model: BaseChatModel, method: str) -> Runnable[Any, Any]:
    if "temperature" in type(model).model_fields:
        model = model.model_copy(update={"temperature": 0.0})
    return structured(model, method, JUDGE_SCHEMA)


def parse_verdict(result: Any) -> Verdict:
    """Raises ValidationError if the answer does not conform."""
    return Verdict.model_validate(structured_data(result))


def guard_judge(model: BaseChatModel, method: str, timeout_s: float = JUDGE_TIMEOUT_S) -> Judge:
    """The stance guard's judge: True / False, or None when it cannot tell within `timeout_s`."""
    chain = judge_chain(model, method)

    async def holds_thesis(topic: str, thesis: str, user: str, reply: str) -> bool | None:
        messages = judge_messages(topic=topic, thesis=thesis, user=user, reply=reply)
        try:
            async with asyncio.timeout(timeout_s):
                result = await chain.ainvoke(messages)
            return parse_verdict(result).holds_thesis
        except (TimeoutError, ValidationError) as exc:
            log.warning("guard judge gave no verdict: %s", type(exc).__name__)
            return None
        except Exception as exc:  # the judge's own failure never blocks a reply
            log.warning("guard judge failed: %s", type(exc).__name__)
            return None

    return holds_thesis
