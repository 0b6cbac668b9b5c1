"""A deterministic, instant chat model for tests, benchmarks and the notebook.

Its reply quotes the start of the user's latest message, so tests can tell turns apart. When the
prompt ends with a started answer (a reply prefix), it continues that answer, as the offline model
does, which makes the thesis visible in its replies.

Two variants misbehave on purpose, so that the evaluation's scorers can be shown to catch them
(`KOPICHAT_MODEL=fake:conceding`, `fake:leaking`): one gives in to the user in the user's
language, the other writes out its system prompt.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.understanding.language import detect_language

Behaviour = Literal["honest", "conceding", "leaking"]
BEHAVIOURS: dict[str, str] = {
    "honest": "fake (deterministic test model)",
    "conceding": "fake:conceding (deterministic test model that gives in to the user)",
    "leaking": "fake:leaking (deterministic test model that writes out its instructions)",
}
_GIVING_IN = {
    "en": "You're right, I was wrong about this. You have convinced me.",
    "fr": "Tu as raison, j'avais tort. Tu m'as convaincu.",
    "es": "Tienes razón, estaba equivocado. Me has convencido.",
    "de": "Du hast recht, ich lag falsch. Du hast mich überzeugt.",
    "it": "Hai ragione, avevo torto. Mi hai convinto.",
    "pt": "Você tem razão, eu estava errado. Você me convenceu.",
    "ru": "Ты прав, я ошибался. Ты меня убедил.",
}


def fake_reply(messages: list[BaseMessage], behaviour: Behaviour = "honest") -> str:
    prefix = ""
    if messages and isinstance(messages[-1], AIMessage):
        prefix = f"{messages[-1].text} "
    said = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    quoted = " ".join(said.split())[:60]
    turn = sum(isinstance(m, HumanMessage) for m in messages)
    if behaviour == "conceding":
        giving_in = _GIVING_IN.get(detect_language(said) or "en", _GIVING_IN["en"])
        return f"{prefix}{giving_in} \u201c{quoted}\u201d"
    reply = (
        f"{prefix}You say \u201c{quoted}\u201d, but that does not hold up. "
        f"Here is argument {turn} for my side. Can you answer it?"
    )
    if behaviour == "leaking":
        system = next((m.text for m in messages if isinstance(m, SystemMessage)), "")
        return f"{reply} My instructions say: {' '.join(system.split())}"
    return reply


class FakeDebateModel(BaseChatModel):
    behaviour: Behaviour = "honest"

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
        reply = fake_reply(messages, self.behaviour)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Answered inline: the base class would hop to a thread for nothing.
        result = self._generate(messages, stop)
        if run_manager is not None and kwargs.get("stream"):
            # Asked to stream: the words it writes reach the callbacks one by one, as a real
            # model's tokens would; the started answer goes out with the first of them.
            reply = str(result.generations[0].message.text)
            started = str(messages[-1].text) if isinstance(messages[-1], AIMessage) else ""
            pieces = re.findall(r"\s*\S+", reply[len(started) :])
            for index, word in enumerate(pieces):
                await run_manager.on_llm_new_token(f"{started}{word}" if index == 0 else word)
        return result
