"""The LangChain runnables: prompt template | chat model | output parsing.

Usable on their own (see docs/notebooks/debate.ipynb): no HTTP, no database.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import Generation
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, RunnablePassthrough

from agent.adapters.opening_answer import is_unusable_answer, opening_from, structured
from agent.adapters.prompt_files import PromptSet
from agent.domain import Message, Opening, Role, Stance
from agent.understanding.acts import user_act
from agent.understanding.language import detect_language
from agent.understanding.reading import analyze_opening


def to_chat_messages(history: list[Message]) -> list[BaseMessage]:
    return [HumanMessage(m.text) if m.role is Role.USER else AIMessage(m.text) for m in history]


# Appended to every system prompt when a canary is configured (KOPICHAT_CANARY): a reply that
# contains the token has leaked the instructions. The settings allow letters, digits, - and _.
CANARY_LINE = "\n\nConfidential marker of these instructions: {canary}. Never write it."


def with_canary(system_template: str, canary: str) -> str:
    if not canary:
        return system_template
    escaped = canary.replace("{", "{{").replace("}", "}}")
    return system_template.rstrip("\n") + CANARY_LINE.format(canary=escaped)


def debate_prompt(
    prompts: PromptSet, *, prefill: bool, compact: bool = False, canary: str = ""
) -> Runnable[dict[str, Any], PromptValue]:
    """System prompt with topic and thesis, the recent history, the user's new message, and, for
    models that continue a started answer, the reply prefix.

    `compact` picks the prompt file's short variant for small models, if it has one. When there
    are several reply prefixes, each turn takes the one after the prefix of the bot's last reply,
    so consecutive replies do not open with the same words."""
    parts: list[Any] = [
        ("system", with_canary(prompts.system_for(compact=compact), canary)),
        MessagesPlaceholder("history"),
        ("human", "{message}"),
    ]
    if prefill and compact and prompts.compact_prefixes_by_act:
        parts.append(("ai", "{reply_prefix}"))
        by_act = ChatPromptTemplate.from_messages(parts)

        def fitting(inputs: dict[str, Any]) -> str:
            """The started answer that fits what the user just did, in their language. `said`
            is the user's own message when `message` carries a reminder for a regenerated
            reply; `opening` marks the turn that fixed the stance."""
            said = inputs.get("said") or inputs["message"]
            recent = " ".join(str(m.content) for m in (inputs.get("history") or [])[-2:])
            act = user_act(
                said,
                inputs["topic"],
                inputs["thesis"],
                first_turn=bool(inputs.get("opening")),
                context=recent,
            )
            prefix = prompts.prefix_for_act(act, detect_language(said))
            return prefix.format(topic=inputs["topic"], thesis=inputs["thesis"])

        return RunnablePassthrough.assign(reply_prefix=fitting) | by_act
    prefixes = prompts.prefixes_for(compact=compact) if prefill else ()
    by_language = prefill and compact and bool(prompts.compact_prefixes_by_language)
    if len(prefixes) == 1 and not by_language:
        parts.append(("ai", prefixes[0]))
    elif prefixes:
        parts.append(("ai", "{reply_prefix}"))
        template = ChatPromptTemplate.from_messages(parts)

        def choose(inputs: dict[str, Any]) -> str:
            language = detect_language(inputs["message"]) if by_language else None
            return next_prefix(prompts.prefixes_for(compact=compact, language=language), inputs)

        return RunnablePassthrough.assign(reply_prefix=choose) | template
    return ChatPromptTemplate.from_messages(parts)


def next_prefix(prefixes: tuple[str, ...], inputs: dict[str, Any]) -> str:
    """The prefix after the one the bot's last reply opened with (the first, if none did).
    In the user's language, where the prompt file has the prefixes in it."""
    filled = [p.format(topic=inputs["topic"], thesis=inputs["thesis"]) for p in prefixes]
    last_bot = next(
        (m.text for m in reversed(inputs.get("history") or []) if isinstance(m, AIMessage)), ""
    )
    used = next((i for i, p in enumerate(filled) if last_bot.startswith(p)), -1)
    return filled[(used + 1) % len(filled)]


class ReplyText(StrOutputParser):
    """The reply's text, picked on the event loop. LangChain's async parsers hand even this
    to the thread pool, which costs a thread hop per turn for a few microseconds of work."""

    async def aparse_result(self, result: list[Generation], *, partial: bool = False) -> str:
        return self.parse_result(result, partial=partial)


def build_debate_chain(
    prompts: PromptSet,
    model: BaseChatModel,
    *,
    prefill: bool = False,
    compact: bool = False,
    canary: str = "",
    stream: bool = False,
) -> Runnable[dict[str, Any], str]:
    """Input: {"topic", "thesis", "history": [BaseMessage], "message": str}. Output: the reply
    text (callers strip it; every extra step in a chain costs a callback run per turn).

    `stream`: ask the provider for a streamed answer, so each token reaches the callbacks'
    `on_llm_new_token` as it arrives (`invoke` still returns the whole text)."""
    prompt = debate_prompt(prompts, prefill=prefill, compact=compact, canary=canary)
    runnable: Runnable[Any, Any] = model.bind(stream=True) if stream else model
    return prompt | runnable | ReplyText()


def build_opening_chain(
    prompts: PromptSet,
    model: BaseChatModel,
    *,
    method: str | None = None,
    canary: str = "",
) -> Runnable[dict[str, Any], Opening]:
    """Input: {"history": [BaseMessage], "message": str}. Output: topic, thesis and reply from one
    model call, with LangChain's structured output (`method`, see ChatModelChoice) or, with
    method None, JSON asked for by the prompt alone. An answer that does not conform falls back
    to the rules (agent/adapters/opening_answer.py)."""
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", with_canary(prompts.opening_system, canary)),
            MessagesPlaceholder("history"),
            ("human", "{message}"),
        ]
    )
    answer: Runnable[Any, Any] = prompt | (model if method is None else structured(model, method))

    def read(inputs: dict[str, Any], config: RunnableConfig) -> Opening:
        try:
            result = answer.invoke(inputs, config)
        except Exception as exc:
            if not is_unusable_answer(exc):
                raise
            result = None
        return opening_from(result, inputs["message"], prompts)

    async def aread(inputs: dict[str, Any], config: RunnableConfig) -> Opening:
        try:
            result = await answer.ainvoke(inputs, config)
        except Exception as exc:
            if not is_unusable_answer(exc):
                raise
            result = None
        return opening_from(result, inputs["message"], prompts)

    return RunnableLambda(read, afunc=aread, name="opening")


def rule_based_opening(message: str) -> Stance | None:
    """For models that cannot return reliable JSON: read the side from the message by rules
    (the notebook, docs/notebooks/debate.ipynb, uses it)."""
    return analyze_opening(message)
