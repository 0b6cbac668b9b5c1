"""Long messages on the offline model: the time to answer a 2,000-character message, per script.

A 135M model's tokenizer makes about one token of four Latin characters, but one or more tokens of
every CJK character or emoji; prompt evaluation dominates the offline model's time, so a long
message in those scripts used to take 20 s. The model now sees a long message as its head and
tail (`LocalDebateModel.message_tokens`, agent/adapters/chatml.py), and this measures what a user
then waits.

`python -m bench.long_message [--quick] [--cap N]` prints one JSON object: for each script, the
seconds of each turn of a debate (a short opening fixes the side; then several different
messages of 2,000 characters in a row), through `ChainResponder` with the stance guard as the
service wires them (the database is not involved: its share of a turn is milliseconds).
`--cap` overrides the message cap, to choose it by measurement. `make bench` runs it in a child
process (`measure_long_messages`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import cycle, islice

from bench.offline_model import percentile
from bench.seed import OPENING, user_text
from bench.servers import ROOT

CHARS = 2000
# p95 of a 2,000-character turn, any script, 2 cores (issue 17).
TARGET_P95_S = 5.0
HEADER = ["script (2,000 characters)", "turns", "p50 s", "p95 s", "max s"]
CONTEXT = 10  # past messages the model is given (KOPICHAT_CONTEXT_MESSAGES' default)

_SENTENCES = {
    "latin": (
        "Remote work saves hours of commuting every week, and those hours go to family and rest. ",
        "Offices are loud, and open-plan floors break concentration every few minutes. ",
        "Teams that write things down work better across time zones than teams that chat. ",
    ),
    "cyrillic": (
        "Удалённая работа экономит часы на дорогу каждую неделю, и это время уходит семье. ",
        "В офисах шумно, и открытые пространства мешают сосредоточиться каждые несколько минут. ",  # noqa: RUF001
        "Команды, которые всё записывают, работают лучше в разных часовых поясах. ",
    ),
    "cjk": (
        "在宅勤務は毎週何時間もの通勤時間を節約し、その時間は家族と休息に使われます。",
        "オフィスは騒がしく、オープンなフロアでは数分ごとに集中が途切れてしまいます。",
        "物事を書き留めるチームは、雑談に頼るチームよりも時差を越えてうまく働きます。",
    ),
    "mixed": (
        "Remote work 🏠 saves hours 🚆 every week; 在宅勤務は通勤時間を節約します。 ",
        "Offices are loud 🔊 — в офисах шумно, and focus breaks 💥 every few minutes. ",
        "Written teams ✍️ work better 🌍 across time zones; 書き留めるチームは強い。 ",
    ),
}
SCRIPTS = tuple(_SENTENCES)
# The same turns with a message of the usual length (about 150 characters), side by side: on a
# busy machine the ratio says more than the seconds.
SHORT = "short"


def long_message(script: str, n: int) -> str:
    """`CHARS` characters (code points) of `script`, different for each `n` (so nothing of one
    message is in the model's cache when the next one comes); for `SHORT`, a usual message."""
    if script == SHORT:
        return user_text(n + 1)
    sentences = _SENTENCES[script]
    start = n % len(sentences)
    body = "".join(islice(cycle(sentences[start:] + sentences[:start]), 200))
    return f"{n + 1}. {body}"[:CHARS]


@dataclass
class LongMessages:
    message_tokens: int
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per script

    def p95(self, script: str) -> float:
        return percentile(self.seconds[script], 95)

    def worst_p95(self) -> float:
        long = [self.p95(s) for s in self.seconds if s != SHORT]
        return max(long, default=float("nan"))

    def to_json(self) -> dict[str, object]:
        return {"message_tokens": self.message_tokens, "seconds": self.seconds}

    @staticmethod
    def from_json(data: dict[str, object]) -> LongMessages:
        seconds = data["seconds"]
        assert isinstance(seconds, dict)
        tokens = data["message_tokens"]
        assert isinstance(tokens, int)
        return LongMessages(tokens, {str(k): list(v) for k, v in seconds.items()})

    def metrics(self) -> dict[str, float]:
        """The worst script's p95 (the target's number), and each script's."""
        each = {f"long_message_{s}_p95_s": round(self.p95(s), 3) for s in self.seconds}
        return {"long_message_p95_s": round(self.worst_p95(), 3), **each}

    def report(self, grid: Callable[[list[str], list[list[str]]], str]) -> list[str]:
        """A titled table, in the benchmark report's text or Markdown grid."""
        return [
            "Offline model, a 2,000-character message (`bench/long_message.py`; the model sees "
            f"at most {self.message_tokens} tokens of it, head and tail; target p95 <= "
            f"{TARGET_P95_S:.0f} s):",
            "",
            grid(HEADER, self.rows()),
            "",
        ]

    def rows(self) -> list[list[str]]:
        return [
            [
                "short, for reference (150 characters)" if script == SHORT else script,
                str(len(times)),
                f"{percentile(times, 50):.2f}",
                f"{self.p95(script):.2f}",
                f"{max(times):.2f}",
            ]
            for script, times in self.seconds.items()
        ]


def measure(turns_per_script: int, cap: int | None) -> LongMessages:
    from agent.adapters.chain_responder import ChainResponder
    from agent.adapters.chat_models import make_chat_model
    from agent.adapters.local_model import LocalDebateModel
    from agent.adapters.prompt_files import load_prompt_library
    from agent.bootstrap import _stance_guard
    from agent.domain import Message, Role
    from agent.settings import load_settings

    settings = load_settings(KOPICHAT_MODEL="local")
    library = load_prompt_library(settings.prompt_version)
    choice = make_chat_model(settings)
    model = choice.model
    assert isinstance(model, LocalDebateModel)
    if cap is not None:
        model.message_tokens = cap
    responder = ChainResponder(library, choice, guard=_stance_guard(settings, library, choice))
    version = settings.prompt_version
    results = LongMessages(model.message_tokens)

    async def run() -> None:
        for script in (*SCRIPTS, SHORT):
            # A debate whose side is fixed by a short opening, then long messages in a row.
            opening = await responder.open(OPENING, [], version, 60.0)
            assert opening.stance is not None
            history = [Message(Role.USER, OPENING), Message(Role.BOT, opening.reply)]
            times: list[float] = []
            for n in range(turns_per_script):
                message = long_message(script, n)
                began = time.perf_counter()
                reply = await responder.reply(
                    opening.stance, history[-CONTEXT:], message, version, 60.0
                )
                times.append(time.perf_counter() - began)
                history += [Message(Role.USER, message), Message(Role.BOT, reply)]
            results.seconds[script] = times

    asyncio.run(run())
    return results


def measure_long_messages(quick: bool, log: Callable[[str], None]) -> LongMessages | None:
    """In a child process, as the other offline-model measurements (llama.cpp stays out of the
    benchmark's own process). None if it failed (the reason is logged)."""
    log("offline model: 2,000-character messages in four scripts")
    done = subprocess.run(
        [sys.executable, "-m", "bench.long_message", *(["--quick"] if quick else [])],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        log(f"long messages: failed ({(done.stderr.strip().splitlines() or ['no output'])[-1]})")
        return None
    return LongMessages.from_json(json.loads(done.stdout.splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.long_message")
    parser.add_argument("--quick", action="store_true", help="two turns per script, not six")
    parser.add_argument("--cap", type=int, default=None, help="message cap in tokens")
    args = parser.parse_args(argv)
    results = measure(2 if args.quick else 6, args.cap)
    print(json.dumps(results.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
