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
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from agent.adapters.prompt_files import PromptSet
from agent.domain import Message, Opening, Role, Stance
from agent.opening_rules import analyze_opening


def to_chat_messages(history: list[Message]) -> list[BaseMessage]:
    return [HumanMessage(m.text) if m.role is Role.USER else AIMessage(m.text) for m in history]


def debate_prompt(
    prompts: PromptSet, *, prefill: bool, compact: bool = False
) -> Runnable[dict[str, Any], PromptValue]:
    """System prompt with topic and thesis, the recent history, the user's new message, and, for
    models that continue a started answer, the reply prefix.

    `compact` picks the prompt file's short variant for small models, if it has one. When there
    are several reply prefixes, each turn takes the one after the prefix of the bot's last reply,
    so consecutive replies do not open with the same words."""
    parts: list[Any] = [
        ("system", prompts.system_for(compact=compact)),
        MessagesPlaceholder("history"),
        ("human", "{message}"),
    ]
    prefixes = prompts.prefixes_for(compact=compact) if prefill else ()
    if len(prefixes) == 1:
        parts.append(("ai", prefixes[0]))
    elif prefixes:
        parts.append(("ai", "{reply_prefix}"))
        template = ChatPromptTemplate.from_messages(parts)
        return (
            RunnablePassthrough.assign(reply_prefix=lambda inputs: next_prefix(prefixes, inputs))
            | template
        )
    return ChatPromptTemplate.from_messages(parts)


def next_prefix(prefixes: tuple[str, ...], inputs: dict[str, Any]) -> str:
    """The prefix after the one the bot's last reply opened with (the first, if none did)."""
    filled = [p.format(topic=inputs["topic"], thesis=inputs["thesis"]) for p in prefixes]
    last_bot = next(
        (m.text for m in reversed(inputs.get("history") or []) if isinstance(m, AIMessage)), ""
    )
    used = next((i for i, p in enumerate(filled) if last_bot.startswith(p)), -1)
    return filled[(used + 1) % len(filled)]


def build_debate_chain(
    prompts: PromptSet, model: BaseChatModel, *, prefill: bool = False, compact: bool = False
) -> Runnable[dict[str, Any], str]:
    """Input: {"topic", "thesis", "history": [BaseMessage], "message": str}. Output: the reply
    text (callers strip it; every extra step in a chain costs a callback run per turn)."""
    return debate_prompt(prompts, prefill=prefill, compact=compact) | model | StrOutputParser()


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
