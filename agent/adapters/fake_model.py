"""A deterministic, instant chat model for tests, benchmarks and the notebook.

Its reply quotes the start of the user's latest message, so tests can tell turns apart. When the
prompt ends with a started answer (a reply prefix), it continues that answer, as the offline model
does, which makes the thesis visible in its replies.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult


def fake_reply(messages: list[BaseMessage]) -> str:
    prefix = ""
    if messages and isinstance(messages[-1], AIMessage):
        prefix = f"{messages[-1].text} "
    said = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    quoted = " ".join(said.split())[:60]
    turn = sum(isinstance(m, HumanMessage) for m in messages)
    return (
        f"{prefix}You say \u201c{quoted}\u201d, but that does not hold up. "
        f"Here is argument {turn} for my side. Can you answer it?"
    )


class FakeDebateModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "kopichat-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(fake_reply(messages)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Answered inline: the base class would hop to a thread for nothing.
        return self._generate(messages, stop)
