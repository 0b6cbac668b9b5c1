"""A streamed turn's tokens reach the client without a hop through the event loop's default
executor: that pool runs the database calls (agent/adapters/sql/store.py), and a reply of a few
hundred tokens must not queue a few hundred jobs in front of them."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.fake_model import FakeDebateModel
from agent.adapters.prompt_files import load_prompt_set
from agent.domain import Stance

STANCE = Stance("pineapple on pizza", "Pineapple belongs on pizza.")


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor, counting the jobs it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.jobs = 0

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


def test_streamed_tokens_never_go_through_the_default_executor() -> None:
    responder = ChainResponder(
        {"v1": load_prompt_set("v1")}, ChatModelChoice(FakeDebateModel(), False, True, "fake")
    )
    executor = CountingExecutor()
    tokens: list[str] = []

    async def turn() -> str:
        asyncio.get_running_loop().set_default_executor(executor)
        return await responder.reply(
            STANCE, [], "Fruit on pizza is a crime.", "v1", 10.0, on_token=tokens.append
        )

    try:
        reply = asyncio.run(turn())
    finally:
        executor.shutdown()
    assert len(tokens) > 10
    assert "".join(tokens).strip() == reply
    # None per token, and none per model call: the chain's output parser picks the finished
    # reply's text on the loop (debate_chain.ReplyText), not through LangChain's default
    # BaseOutputParser.aparse_result, which sends it to this pool.
    assert executor.jobs == 0


def test_a_turn_that_does_not_stream_runs_nothing_on_the_default_executor() -> None:
    responder = ChainResponder(
        {"v1": load_prompt_set("v1")}, ChatModelChoice(FakeDebateModel(), False, True, "fake")
    )
    executor = CountingExecutor()

    async def turn() -> str:
        asyncio.get_running_loop().set_default_executor(executor)
        return await responder.reply(STANCE, [], "Fruit on pizza is a crime.", "v1", 10.0)

    try:
        reply = asyncio.run(turn())
    finally:
        executor.shutdown()
    assert "Fruit on pizza is a crime." in reply
    assert executor.jobs == 0
