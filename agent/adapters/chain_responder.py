"""The Responder port filled by LangChain chains: one model call per turn, inside the deadline.

Retries happen here (agent/adapters/model_retry.py), not in the provider's SDK, so that they all
fit in the turn's one deadline. A reply is always asked for as a stream, also when the client
does not stream: its first token shows that the attempt is alive, so a hung attempt is told
from a slow one, and only the hung one is cut and tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig

from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.debate_chain import build_debate_chain, build_opening_chain, to_chat_messages
from agent.adapters.model_retry import Progress, call_with_retries
from agent.adapters.prompt_files import PromptSet
from agent.domain import Message, Opening, Role, Stance
from agent.errors import ConfigError, KopichatError, ModelUnavailable
from agent.observability import SpanValue, add_tokens, note, note_span, span
from agent.ports import RESTART, OnToken
from agent.understanding.guard import (
    LeakSafeStream,
    StanceGuard,
    Verdict,
    fallback_reply,
    reminder,
)
from agent.understanding.language import detect_language
from agent.understanding.phrases import ask_for, opening_fallback, without_announcement
from agent.understanding.reading import read_opening
from agent.understanding.tidy import repeats, tidy_reply

log = logging.getLogger("kopichat.model")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Chains:
    prompts: PromptSet
    debate: Runnable[dict[str, Any], str]
    opening: Runnable[dict[str, Any], Opening] | None
    # The same debate chain asking the provider to stream (tokens reach the callbacks): every
    # first answer of a turn, streamed to the client or not.
    streaming: Runnable[dict[str, Any], str]


class _TokenCounter(BaseCallbackHandler):
    """Adds each model call's token usage to the request's log record.

    Inline: LangChain runs a sync handler of an async call on the loop's default executor, once
    per event, every streamed token included, unless it says it may run inline; that pool runs the
    database calls. Its work is a few additions, and inline it sees the request's context."""

    run_inline = True

    def on_llm_end(
        self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None, **_: Any
    ) -> None:
        for generations in response.generations:
            for generation in generations:
                message = generation.message if isinstance(generation, ChatGeneration) else None
                usage = message.usage_metadata if isinstance(message, AIMessage) else None
                if usage:
                    add_tokens(usage["input_tokens"], usage["output_tokens"])


class _TokenForwarder(AsyncCallbackHandler):
    """Hands each new token of the model's answer to a streaming turn."""

    def __init__(self, on_token: OnToken) -> None:
        self._on_token = on_token

    async def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **_: Any,
    ) -> None:
        if isinstance(token, str) and token:
            self._on_token(token)


class ChainResponder:
    """Built once at start: a chain per prompt version, reused by every request."""

    def __init__(
        self,
        library: dict[str, PromptSet],
        choice: ChatModelChoice,
        *,
        canary: str = "",
        guard: StanceGuard | None = None,
        model_spec: str = "",
    ) -> None:
        """`model_spec`: KOPICHAT_MODEL's value, for the model call's span."""
        self._attempts = choice.attempts
        self._span_model = _span_model(model_spec or choice.description)
        self._compact = choice.compact_prompt
        self._tidy = choice.tidy_replies
        self._guard = guard
        self._config: RunnableConfig = {"callbacks": [_TokenCounter()]}

        def debate(prompts: PromptSet, *, stream: bool) -> Runnable[dict[str, Any], str]:
            return build_debate_chain(
                prompts,
                choice.model,
                prefill=choice.prefill,
                compact=choice.compact_prompt,
                canary=canary,
                stream=stream,
            )

        self._chains = {
            version: _Chains(
                prompts,
                debate(prompts, stream=False),
                build_opening_chain(
                    prompts, choice.model, method=choice.structured_method, canary=canary
                )
                if choice.structured_opening
                else None,
                debate(prompts, stream=True),
            )
            for version, prompts in library.items()
        }

    def _for(self, version: str) -> _Chains:
        chains = self._chains.get(version)
        if chains is None:  # a conversation started under a prompt file since removed
            raise ConfigError(
                f"prompt version {version} of this conversation is not installed "
                "(KOPICHAT_PROMPTS_DIR)"
            )
        return chains

    async def open(
        self,
        message: str,
        history: list[Message],
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
    ) -> Opening:
        """A structured opening (JSON) streams no tokens: its reply is one field of the answer."""
        chains = self._for(prompt_version)
        opening_chain = chains.opening
        if opening_chain is not None:
            inputs = {"history": to_chat_messages(history), "message": message}
            opening = await self._call(
                lambda: opening_chain.ainvoke(inputs, self._config), timeout_s, prompt_version
            )
            _require_text(opening.reply)
            return await self._guarded_opening(opening, message, chains.prompts)
        reading = read_opening(message)
        if reading.stance is None:
            return Opening(stance=None, reply=ask_for(reading, chains.prompts.ask_for_topic))
        reply = await self.reply(
            reading.stance,
            history,
            message,
            prompt_version,
            timeout_s,
            on_token=on_token,
            opening=True,
        )
        return Opening(stance=reading.stance, reply=reply)

    async def reply(
        self,
        stance: Stance,
        history: list[Message],
        message: str,
        prompt_version: str,
        timeout_s: float,
        *,
        on_token: OnToken | None = None,
        opening: bool = False,
    ) -> str:
        """`opening`: the turn that fixed the stance (a replaced reply then states the side
        rather than holding to it). With `on_token`, the first answer streams (held back by the
        guard's leak check); a regenerated or fallback reply does not, and the returned text is
        what counts."""
        seen = [
            Message(
                m.role,
                without_announcement(m.text, stance.thesis) if m.role is Role.BOT else m.text,
            )
            for m in history
        ]
        inputs = {
            "topic": stance.topic,
            "thesis": stance.thesis,
            "history": to_chat_messages(seen),
            "message": message,
            "said": message,  # the user's own words, whatever `message` gets added
            "opening": opening,
        }
        chains = self._for(prompt_version)
        streams: list[LeakSafeStream] = []  # one per attempt; the last one is the answer's
        sent: list[str] = []  # what the current attempt has streamed to the client
        progress = Progress()

        def emit(piece: str) -> None:
            assert on_token is not None
            sent.append(piece)
            on_token(piece)

        def attempt() -> Awaitable[str]:
            if on_token is None:
                forward: OnToken = _ignore
            else:
                if streams:  # a late token of the abandoned attempt must not follow the restart
                    streams[-1].stopped = True
                if sent:  # an earlier attempt streamed part of a reply that will never be done
                    on_token(RESTART)
                    sent.clear()
                if self._guard is not None:
                    streams.append(LeakSafeStream(self._guard, emit))
                    forward = streams[-1].feed
                else:
                    forward = emit

            def on_piece(piece: str, forward: OnToken = forward) -> None:
                progress.token()
                forward(piece)

            callbacks = [_TokenCounter(), _TokenForwarder(on_piece)]
            return chains.streaming.ainvoke(inputs, {"callbacks": callbacks})

        started = asyncio.get_running_loop().time()
        text = await self._call(attempt, timeout_s, prompt_version, progress)
        stream = streams[-1] if streams else None
        _require_text(text)
        earlier = [m.text for m in seen if m.role is Role.BOT]
        users = [m.text for m in seen if m.role is Role.USER]
        raw = text.strip()  # a repeat is judged on what the model wrote, before tidying
        text = self._tidied(text, earlier, users, message)
        if self._guard is None:
            return text
        took = asyncio.get_running_loop().time() - started
        judge = timeout_s - took > self._guard.judge_timeout_s + 1.0
        verdict = await self._check(
            text, stance, message, chains.prompts, judge=judge, earlier=earlier, raw=raw
        )
        if verdict.ok:
            if stream is not None:
                stream.release()
            return text
        if stream is not None:
            stream.stopped = True  # nothing more of a failed reply goes out
        # Once more, with a firmer reminder, if the deadline leaves room for another answer
        # like the first (and a little for the commit); else the fallback at once.
        left = timeout_s - (asyncio.get_running_loop().time() - started)
        log.warning("stance guard: %s", verdict.problem)
        note(guard=verdict.problem)
        if left > 1.5 * took + 0.5:
            firmer = {**inputs, "message": f"{message}\n\n{reminder(stance)}"}
            try:
                again = await self._call(
                    lambda: chains.debate.ainvoke(firmer, self._config),
                    left - 0.25 * took,
                    prompt_version,
                )
            except KopichatError:
                again = ""
            raw_again = again.strip()
            again = self._tidied(again, earlier, users, message) if raw_again else ""
            left = timeout_s - (asyncio.get_running_loop().time() - started)
            judge = left > self._guard.judge_timeout_s + 1.0
            if (
                again
                and (
                    await self._check(
                        again,
                        stance,
                        message,
                        chains.prompts,
                        judge=judge,
                        earlier=[*earlier, raw],
                        raw=raw_again,
                    )
                ).ok
            ):
                note(guard=f"{verdict.problem}; regenerated")
                return again
        note(guard=f"{verdict.problem}; fallback")
        return _fallback(stance, message, opening=opening)

    async def _guarded_opening(self, opening: Opening, message: str, prompts: PromptSet) -> Opening:
        """The model's opening reply, unless the guard finds it leaking or giving its side up;
        then the fallback (the opening has no history to regenerate from cheaply)."""
        if self._guard is None:
            return opening
        stance = opening.stance
        if stance is None:
            with span("guard", {"kopichat.guard.check": "leak"}):
                leak = self._guard.check(opening.reply, opening.reply, Stance("", "")).leak
                note_span({"kopichat.guard.verdict": "leak" if leak else "ok"})
            if leak:
                note(guard="leak; asked for a topic")
                return Opening(None, ask_for(read_opening(message), prompts.ask_for_topic))
            return opening
        verdict = await self._check(opening.reply, stance, message, prompts)
        if verdict.ok:
            return opening
        log.warning("stance guard (opening): %s", verdict.problem)
        note(guard=f"{verdict.problem}; fallback")
        return Opening(stance, _fallback(stance, message, opening=True))

    def _tidied(self, text: str, earlier: list[str], said: list[str], message: str) -> str:
        """A small OpenAI-compatible model's reply made whole sentences of prose (the offline
        model tidies its own)."""
        text = text.strip()
        if not self._tidy:
            return text
        quotable = "\n".join([*said, message])
        return tidy_reply("", text, earlier, cut_off=False, quotable=quotable) or text

    async def _check(
        self,
        text: str,
        stance: Stance,
        message: str,
        prompts: PromptSet,
        *,
        judge: bool = False,
        earlier: Sequence[str] = (),
        raw: str | None = None,
    ) -> Verdict:
        """`raw`: the model's text before tidying, which a repeat is judged on."""
        with span("guard", {"kopichat.guard.check": "stance", "kopichat.guard.judged": False}):
            verdict = await self._verdict(
                text, stance, message, prompts, judge=judge, earlier=earlier, raw=raw
            )
            # The rule's name, not its problem text (which may quote the reply).
            note_span({"kopichat.guard.verdict": "ok" if verdict.ok else verdict.rule or "problem"})
            return verdict

    async def _verdict(
        self,
        text: str,
        stance: Stance,
        message: str,
        prompts: PromptSet,
        *,
        judge: bool,
        earlier: Sequence[str],
        raw: str | None,
    ) -> Verdict:
        assert self._guard is not None
        started = [
            prefix.format(topic=stance.topic, thesis=stance.thesis)
            for prefix in prompts.all_prefixes()
        ]

        def body_of(reply: str) -> str:
            opened = [p for p in started if p and reply.startswith(p)]
            return reply[len(max(opened, key=len)) :] if opened else reply

        body = body_of(text)
        verdict = self._guard.check(text, body, stance, message)
        said = body_of(raw) if raw is not None else body
        if not verdict.replaces and self._compact and repeats(said, map(body_of, earlier)):
            verdict = Verdict("repeat of an earlier reply", rule="repeat")
        if verdict.replaces:
            return verdict
        if judge and self._guard.judge is not None:
            note_span({"kopichat.guard.judged": True})
            judged = await self._guard.ask_judge(stance, message, text)
            if not judged.ok:
                return judged
        if verdict.problem:  # a suspicion from a rule not precise enough to act alone
            log.info("stance guard suspects: %s", verdict.problem)
            note(guard_suspicion=verdict.problem)
        return Verdict()

    async def _call(
        self,
        start: Callable[[], Awaitable[T]],
        timeout_s: float,
        prompt_version: str,
        progress: Progress | None = None,
    ) -> T:
        """Run the model call, retrying transient failures, all inside `timeout_s`."""
        attributes = {**self._span_model, "kopichat.prompt_version": prompt_version}
        with span(f"chat {self._span_model['gen_ai.request.model']}", attributes):
            return await call_with_retries(
                start, timeout_s, attempts=self._attempts, progress=progress
            )


def _span_model(spec: str) -> dict[str, SpanValue]:
    """The model call's span attributes, named as OpenTelemetry's GenAI conventions name them:
    `openai:gpt-4o-mini` is provider openai, model gpt-4o-mini; `fake` and `local` name both."""
    provider, _, name = spec.partition(":")
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": name or provider,
    }


def _fallback(stance: Stance, message: str, *, opening: bool) -> str:
    """The reply that replaces a failed one: on the first turn it states the side ("I'll take
    this side: …"), later it holds to it."""
    if opening:
        return opening_fallback(detect_language(message) or "en", stance.thesis)
    return fallback_reply(stance, message)


def _require_text(text: str) -> None:
    if not text.strip():
        raise ModelUnavailable("the model returned an empty reply")


def _ignore(piece: str) -> None:
    """Tokens of a reply nobody streams: they only show the attempt is alive."""
