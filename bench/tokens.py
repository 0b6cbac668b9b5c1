"""Prompt size: the tokens each app sends the model at turn 5 and at turn 200.

Both apps run in-process on a throw-away SQLite file with a recording copy of the fake model, so
what is counted is exactly what each app's own code puts in front of the model: Kopichat through
its use case, store and responder; the baseline through RunnableWithMessageHistory.

Tokens are approximate (no tokenizer download): ceil(characters / 4) per message, plus 4 per
message for the chat format and 3 to prime the reply, OpenAI's rule of thumb.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.fake_model import FakeDebateModel
from agent.adapters.prompt_files import load_prompt_library
from agent.adapters.sql.engine import create_schema_if_sqlite, make_engine
from agent.adapters.sql.store import SqlConversationStore
from agent.use_case import DebateTurns, TurnPolicy
from bench.seed import OPENING, user_text

CHECKPOINTS = (5, 200)


class RecordingModel(FakeDebateModel):
    """The fake model, keeping every prompt it was sent."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def approx_tokens(messages: list[BaseMessage]) -> int:
    return sum(math.ceil(len(m.text) / 4) + 4 for m in messages) + 3


@dataclass(frozen=True, slots=True)
class PromptSize:
    app: str
    tokens: dict[int, int]  # turn -> approximate tokens sent
    messages: dict[int, int]  # turn -> messages sent

    @property
    def growth(self) -> float:
        first, last = CHECKPOINTS
        return self.tokens[last] / self.tokens[first]


def _size(app: str, model: RecordingModel) -> PromptSize:
    return PromptSize(
        app,
        {turn: approx_tokens(model.prompts[turn - 1]) for turn in CHECKPOINTS},
        {turn: len(model.prompts[turn - 1]) for turn in CHECKPOINTS},
    )


async def _kopichat_turns(model: RecordingModel, url: str, turns: int) -> None:
    engine = make_engine(url)
    create_schema_if_sqlite(engine)
    choice = ChatModelChoice(model, structured_opening=False, prefill=True, description="rec")
    debate = DebateTurns(
        SqlConversationStore(engine),
        ChainResponder(load_prompt_library("v1"), choice),
        TurnPolicy(max_turns=100_000),  # the defaults: 5 returned, 10 in context
    )
    result = await debate.take_turn(None, OPENING)
    for turn in range(2, turns + 1):
        await debate.take_turn(result.conversation_id, user_text(turn))
    engine.dispose()


def _baseline_turns(model: RecordingModel, url: str, turns: int) -> None:
    from bench.baseline_app import build_baseline_chain, create_table

    engine = make_engine(url)
    create_table(engine)
    chain = build_baseline_chain(model, engine)
    config: Any = {"configurable": {"session_id": "tokens"}}
    chain.invoke({"message": OPENING}, config=config)
    for turn in range(2, turns + 1):
        chain.invoke({"message": user_text(turn)}, config=config)
    engine.dispose()


def measure_prompt_sizes() -> list[PromptSize]:
    turns = max(CHECKPOINTS)
    with tempfile.TemporaryDirectory() as tmp:
        kopichat, baseline = RecordingModel(), RecordingModel()
        asyncio.run(_kopichat_turns(kopichat, f"sqlite:///{Path(tmp) / 'k.db'}", turns))
        _baseline_turns(baseline, f"sqlite:///{Path(tmp) / 'b.db'}", turns)
    return [_size("kopichat", kopichat), _size("baseline", baseline)]
