"""The offline model (`KOPICHAT_MODEL=local`, SmolLM2-135M in-process): time to a full debate
reply and generation speed on this machine."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent.adapters.chat_models import make_chat_model
from agent.adapters.debate_chain import debate_prompt, to_chat_messages
from agent.adapters.local_model import to_chatml
from agent.adapters.prompt_files import load_prompt_set
from agent.domain import Message, Role
from agent.settings import load_settings
from bench.seed import THESIS, TOPIC, conversation_texts, user_text


@dataclass
class OfflineModel:
    load_s: float = 0.0
    warmup_s: float = 0.0
    reply_s: list[float] = field(default_factory=list)
    prompt_eval_s: list[float] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    max_tokens: int = 0

    @property
    def median_reply_s(self) -> float:
        return statistics.median(self.reply_s)

    @property
    def tokens_per_s(self) -> float:
        """Reply tokens per second of the whole reply (prompt evaluation included)."""
        return sum(self.completion_tokens) / sum(self.reply_s)

    @property
    def generation_tokens_per_s(self) -> float:
        """Reply tokens per second of generation alone (prompt evaluation taken out)."""
        if len(self.prompt_eval_s) != len(self.reply_s):
            return float("nan")
        generating = sum(r - p for r, p in zip(self.reply_s, self.prompt_eval_s, strict=True))
        return sum(self.completion_tokens) / generating if generating > 0 else float("nan")


def _prompt(turn: int, history_messages: int) -> list[BaseMessage]:
    """What Kopichat sends the offline model at `turn`: system prompt with the stance, the last
    messages, the user's new message, and the reply prefix (prefill)."""
    texts = conversation_texts(2 * (turn - 1))[-history_messages:]
    history = [Message(Role(role), text) for role, text in texts]
    prompt = debate_prompt(load_prompt_set("v1"), prefill=True)
    return prompt.format_messages(
        topic=TOPIC, thesis=THESIS, history=to_chat_messages(history), message=user_text(turn)
    )


def measure_offline_model(
    replies: int, *, split: bool = True, history_messages: int = 10
) -> OfflineModel:
    """One warm-up reply, then `replies` replies to consecutive turns of one conversation.

    Each measured reply starts from an empty llama.cpp cache (no prefix reuse). With `split`,
    the same prompt is then evaluated alone (one token generated) to separate prompt evaluation
    from generation; without it (and without the warm-up) the run is short enough for --quick."""
    settings = load_settings(KOPICHAT_MODEL="local")
    started = time.perf_counter()
    model: Any = make_chat_model(settings).model
    result = OfflineModel(time.perf_counter() - started, max_tokens=settings.local_max_tokens)
    llama = model._llama
    if split:
        started = time.perf_counter()
        model.invoke(_prompt(20, history_messages))
        result.warmup_s = time.perf_counter() - started
    for turn in range(21, 21 + replies):
        messages = _prompt(turn, history_messages)
        llama.reset()
        started = time.perf_counter()
        reply = model.invoke(messages)
        result.reply_s.append(time.perf_counter() - started)
        assert isinstance(reply, AIMessage)
        usage = reply.response_metadata.get("token_usage") or {}
        result.completion_tokens.append(int(usage.get("completion_tokens", 0)))
        result.prompt_tokens = int(usage.get("prompt_tokens", 0))
        if not split:
            continue
        llama.reset()
        started = time.perf_counter()
        llama.create_completion(prompt=to_chatml(messages)[0], max_tokens=1)
        result.prompt_eval_s.append(time.perf_counter() - started)
    return result
