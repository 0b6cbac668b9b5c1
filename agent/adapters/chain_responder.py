"""The Responder port filled by LangChain chains: one model call per turn, inside the deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.runnables import Runnable

from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.debate_chain import build_debate_chain, build_opening_chain, to_chat_messages
from agent.adapters.prompt_files import PromptSet
from agent.domain import Message, Opening, Stance
from agent.errors import ConfigError, DeadlineExceeded, ModelBusy, ModelUnavailable
from agent.opening_phrases import ask_for
from agent.opening_rules import read_opening

log = logging.getLogger("kopichat.model")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Chains:
    prompts: PromptSet
    debate: Runnable[dict[str, Any], str]
    opening: Runnable[dict[str, Any], Opening] | None


class ChainResponder:
    """Built once at start: a chain per prompt version, reused by every request."""

    def __init__(
        self, library: dict[str, PromptSet], choice: ChatModelChoice, *, canary: str = ""
    ) -> None:
        self._chains = {
            version: _Chains(
                prompts,
                build_debate_chain(
                    prompts,
                    choice.model,
                    prefill=choice.prefill,
                    compact=choice.compact_prompt,
                    canary=canary,
                ),
                build_opening_chain(
                    prompts, choice.model, method=choice.structured_method, canary=canary
                )
                if choice.structured_opening
                else None,
            )
            for version, prompts in library.items()
        }

    def _for(self, version: str) -> _Chains:
        chains = self._chains.get(version)
        if chains is None:  # a conversation started under a prompt file since removed
            raise ConfigError(f"prompt version {version} is not available")
        return chains

    async def open(
        self, message: str, history: list[Message], prompt_version: str, timeout_s: float
    ) -> Opening:
        chains = self._for(prompt_version)
        if chains.opening is not None:
            inputs = {"history": to_chat_messages(history), "message": message}
            opening = await _within(chains.opening.ainvoke(inputs), timeout_s)
            _require_text(opening.reply)
            return opening
        reading = read_opening(message)
        if reading.stance is None:
            return Opening(stance=None, reply=ask_for(reading, chains.prompts.ask_for_topic))
        reply = await self.reply(reading.stance, history, message, prompt_version, timeout_s)
        return Opening(stance=reading.stance, reply=reply)

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
    ) -> str:
        inputs = {
            "topic": stance.topic,
            "thesis": stance.thesis,
            "history": to_chat_messages(history),
            "message": message,
        }
        text = await _within(self._for(prompt_version).debate.ainvoke(inputs), timeout_s)
        _require_text(text)
        return text.strip()


def _require_text(text: str) -> None:
    if not text.strip():
        raise ModelUnavailable("the model returned an empty reply")


async def _within(call: Awaitable[T], timeout_s: float) -> T:
    """Run one model call under the turn's remaining time; map failures to the port's errors."""
    try:
        async with asyncio.timeout(timeout_s):  # no extra task, unlike wait_for
            return await call
    except TimeoutError:
        raise DeadlineExceeded("the model did not answer before the turn's deadline") from None
    except (DeadlineExceeded, ModelUnavailable, ModelBusy, ConfigError):
        raise
    except Exception as exc:
        if _is_timeout(exc):
            raise DeadlineExceeded("the model did not answer before the turn's deadline") from None
        # Class name only: provider messages can echo request details.
        log.warning("model call failed: %s", type(exc).__name__)
        log.debug("model call failure in detail", exc_info=True)
        raise ModelUnavailable(f"the model is unavailable ({type(exc).__name__})") from None


def _is_timeout(exc: BaseException) -> bool:
    """Provider SDKs raise their own timeout types (openai.APITimeoutError, httpx timeouts)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
