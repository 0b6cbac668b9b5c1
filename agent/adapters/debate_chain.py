"""The LangChain runnables: prompt template | chat model | output parsing.

Usable on their own (see docs/notebooks/debate.ipynb): no HTTP, no database.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableLambda

from agent.adapters.prompt_files import PromptSet
from agent.domain import Message, Opening, Role, Stance
from agent.opening_rules import analyze_opening


def to_chat_messages(history: list[Message]) -> list[BaseMessage]:
    return [HumanMessage(m.text) if m.role is Role.USER else AIMessage(m.text) for m in history]


def debate_prompt(prompts: PromptSet, *, prefill: bool) -> ChatPromptTemplate:
    """System prompt with topic and thesis, the recent history, the user's new message, and, for
    models that continue a started answer, the reply prefix."""
    parts: list[Any] = [
        ("system", prompts.debater_system),
        MessagesPlaceholder("history"),
        ("human", "{message}"),
    ]
    if prefill and prompts.reply_prefix:
        parts.append(("ai", prompts.reply_prefix))
    return ChatPromptTemplate.from_messages(parts)


def build_debate_chain(
    prompts: PromptSet, model: BaseChatModel, *, prefill: bool = False
) -> Runnable[dict[str, Any], str]:
    """Input: {"topic", "thesis", "history": [BaseMessage], "message": str}. Output: the reply
    text (callers strip it; every extra step in a chain costs a callback run per turn)."""
    return debate_prompt(prompts, prefill=prefill) | model | StrOutputParser()


def build_opening_chain(
    prompts: PromptSet, model: BaseChatModel
) -> Runnable[dict[str, Any], Opening]:
    """Input: {"history": [BaseMessage], "message": str}. Output: topic, thesis and reply from one
    JSON answer."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.opening_system), MessagesPlaceholder("history"), ("human", "{message}")]
    )
    return prompt | model | RunnableLambda(_parse_opening_output)


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _parse_opening_output(output: BaseMessage) -> Opening:
    text = output.text.strip()
    match = _JSON_OBJECT.search(text)
    data: Any = None
    if match:
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            data = None
    if not isinstance(data, dict) or not isinstance(data.get("reply"), str):
        # Not the JSON we asked for: keep the text as the reply and fix no side yet; the
        # conversation's next message is read as an opening again.
        return Opening(stance=None, reply=text)
    topic, thesis = data.get("topic"), data.get("thesis")
    kind = data.get("kind")
    stance: Stance | None = None
    if kind != "none" and isinstance(topic, str) and isinstance(thesis, str):
        stance = Stance(topic.strip(), thesis.strip()) if topic.strip() and thesis.strip() else None
    return Opening(stance=stance, reply=data["reply"].strip())


def rule_based_opening(message: str) -> Stance | None:
    """For models that cannot return reliable JSON: read the side from the message by rules."""
    return analyze_opening(message)
