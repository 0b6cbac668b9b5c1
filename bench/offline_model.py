"""The offline model (`KOPICHAT_MODEL=local`, SmolLM2-135M in-process), measured in-process with
whichever llama.cpp build this interpreter imports.

`python -m bench.offline_model [--quick]` prints one JSON object (an `OfflineRun`): the parent
benchmark runs it once per llama.cpp build it finds (portable, native), each in a child process
whose `PYTHONPATH` puts that build first (bench/offline_builds.py).

What is measured, with the production code path (`LocalDebateModel.complete`: prompt planning,
KV-cache reuse, generation settings, tidying):
- load: building the model object (llama.cpp loads the file);
- the benchmark's later-turn prompt (turn 21 of the seeded remote-work debate: the v1 system
  prompt, the last 10 messages, the new message and the reply prefix) as it was sent before the
  compact prompt and prompt planning: 815 tokens evaluated from an empty cache (evaluation alone);
- the same turns as Kopichat now serves them (the default prompt version's compact variant, the
  planned history window): the first from an empty cache (*cold*), each next one right after the
  previous (*warm*: the usual debate, where llama.cpp reuses the prefix it evaluated last turn).
  Full reply time, time to first token, reply tokens, tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agent.adapters.debate_chain import debate_prompt, to_chat_messages
from agent.adapters.prompt_files import load_prompt_set
from agent.domain import Message, Role
from agent.settings import load_settings
from bench.seed import THESIS, TOPIC, conversation_texts, user_text

FIRST_TURN = 21


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Reply:
    total_s: float
    first_token_s: float
    prompt_tokens: int
    reused_tokens: int
    completion_tokens: int

    @property
    def generation_tokens_per_s(self) -> float:
        generating = self.total_s - self.first_token_s
        return self.completion_tokens / generating if generating > 0 else float("nan")


@dataclass
class OfflineRun:
    build: str  # what `make install` recorded: "portable 0.3.36", "native 0.3.36"
    cpu_features: str  # llama.cpp's own report of what it was compiled with
    load_s: float
    max_tokens: int
    full_prompt_tokens: int = 0
    full_prompt_eval_s: list[float] = field(default_factory=list)
    cold: list[Reply] = field(default_factory=list)
    warm: list[Reply] = field(default_factory=list)

    @property
    def prompt_eval_tokens_per_s(self) -> float:
        if not self.full_prompt_eval_s:
            return float("nan")
        return self.full_prompt_tokens / statistics.median(self.full_prompt_eval_s)

    def summary(self, replies: list[Reply]) -> dict[str, float]:
        totals = [r.total_s for r in replies]
        return {
            "replies": len(replies),
            "p50_s": percentile(totals, 50),
            "p95_s": percentile(totals, 95),
            "first_token_p50_s": percentile([r.first_token_s for r in replies], 50),
            "prompt_tokens": statistics.median(r.prompt_tokens for r in replies)
            if replies
            else float("nan"),
            "evaluated_prompt_tokens": statistics.median(
                r.prompt_tokens - r.reused_tokens for r in replies
            )
            if replies
            else float("nan"),
            "reply_tokens": statistics.mean(r.completion_tokens for r in replies)
            if replies
            else float("nan"),
            "generation_tokens_per_s": statistics.median(r.generation_tokens_per_s for r in replies)
            if replies
            else float("nan"),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OfflineRun:
        data = dict(data)
        data["cold"] = [Reply(**r) for r in data["cold"]]
        data["warm"] = [Reply(**r) for r in data["warm"]]
        return cls(**data)


def later_turn_messages(
    turn: int, history: list[Message] | None = None, *, now: bool = True
) -> list[BaseMessage]:
    """What the debate chain sends the offline model at `turn` of the seeded conversation: the
    system prompt with the stance, the last 10 messages, the user's new message and the reply
    prefix. `now`: the default prompt version's compact variant; else v1's full prompt, as sent
    before the compact variant existed."""
    if history is None:
        texts = conversation_texts(2 * (turn - 1))[-10:]
        history = [Message(Role(role), text) for role, text in texts]
    version = load_settings().prompt_version if now else "v1"
    prompt = debate_prompt(load_prompt_set(version), prefill=True, compact=now)
    value = prompt.invoke(
        {
            "topic": TOPIC,
            "thesis": THESIS,
            "history": to_chat_messages(history[-10:]),
            "message": user_text(turn),
        }
    )
    return value.to_messages()


def measure(replies: int) -> OfflineRun:
    from agent.adapters.chatml import ChatmlTurn
    from agent.adapters.local_model import LocalDebateModel, import_llama_cpp, smollm2_path
    from agent.adapters.local_model_check import check_offline_model, installed_build

    settings = load_settings(KOPICHAT_MODEL="local")
    check_offline_model()  # as the service does before it loads the model
    started = time.perf_counter()
    model = LocalDebateModel(model_path=str(smollm2_path()), max_tokens=settings.local_max_tokens)
    run = OfflineRun(
        build=os.environ.get("KOPICHAT_BENCH_LLAMA_BUILD") or installed_build() or "unknown",
        cpu_features=import_llama_cpp().llama_print_system_info().decode().strip(),
        load_s=time.perf_counter() - started,
        max_tokens=model.max_tokens,
    )
    llama = model._llama
    never = threading.Event()

    # The whole 815-token prompt as it was sent before prompt planning: evaluation alone.
    whole = ChatmlTurn.from_messages(later_turn_messages(FIRST_TURN, now=False)).text()
    run.full_prompt_tokens = len(llama.tokenize(whole.encode(), add_bos=False, special=True))
    for _ in range(2 if replies <= 2 else 3):
        llama.reset()
        llama.cache.cache_state.clear()  # nothing to reuse: neither live nor cached
        began = time.perf_counter()
        llama.create_completion(prompt=whole, max_tokens=1)
        run.full_prompt_eval_s.append(time.perf_counter() - began)

    # The same conversation as Kopichat serves it now: cold first, then warm turns.
    for _ in range(2 if replies <= 2 else 3):
        llama.reset()
        llama.cache.cache_state.clear()
        texts = conversation_texts(2 * (FIRST_TURN - 1))[-10:]
        history = [Message(Role(role), text) for role, text in texts]
        for turn in range(FIRST_TURN, FIRST_TURN + replies + 1):
            generation = model.complete(later_turn_messages(turn, history), never)
            reply = Reply(
                generation.total_s,
                generation.first_token_s,
                generation.prompt_tokens,
                generation.reused_tokens,
                generation.completion_tokens,
            )
            (run.cold if turn == FIRST_TURN else run.warm).append(reply)
            history += [Message(Role.USER, user_text(turn)), Message(Role.BOT, generation.text)]
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offline_model")
    parser.add_argument("--quick", action="store_true", help="fewer replies")
    args = parser.parse_args(argv)
    run = measure(2 if args.quick else 5)
    print(json.dumps(run.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
