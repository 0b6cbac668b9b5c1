"""How a streamed turn's events reach the database (api/live_turns.py), against a fake store:
the first event at once, the rest in batches, the final one before anyone sees it; a turn
whose hold on its conversation was taken away by a cancel elsewhere stops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agent.ports import Replay, StreamEvent
from api.live_turns import LiveTurn, LiveTurns


@dataclass
class Write:
    turn: str
    numbers: list[int]
    first: bool
    check_lease: bool


@dataclass
class FakeTurnStreams:
    writes: list[Write] = field(default_factory=list)
    held: bool = True

    async def record(
        self,
        conversation_id: str,
        turn: str,
        events: list[StreamEvent],
        *,
        first: bool,
        check_lease: bool,
        timeout_s: float,
    ) -> bool:
        self.writes.append(Write(turn, [e.n for e in events], first, check_lease))
        return self.held or not check_lease

    async def replay(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        turn: str | None,
        after: int,
        timeout_s: float,
    ) -> Replay:
        return Replay([], running=False)

    async def cancel(self, conversation_id: str, *, owner: str | None, timeout_s: float) -> bool:
        return False


async def settle() -> None:
    """Let every task that is ready run (no timer fires: nothing here waits on the clock)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_tokens_written_together_cost_one_write_and_the_final_event_one_more() -> None:
    async def scenario() -> tuple[FakeTurnStreams, list[str]]:
        streams = FakeTurnStreams()
        live = LiveTurn("c0ffee00-0000-4000-8000-000000000000", streams)
        for i in range(200):  # as a fast model's tokens come: no wait between them
            live.add("token", f'{{"text": "{i}"}}')
        await settle()
        await live.finish("done", "{}")
        seen = [event["id"] async for event in live.follow(198)]
        return streams, seen

    streams, seen = asyncio.run(scenario())
    assert [len(w.numbers) for w in streams.writes] == [200, 1]
    assert streams.writes[0].first
    assert streams.writes[0].numbers[0] == 1
    assert streams.writes[1].numbers == [201]
    assert not streams.writes[1].check_lease
    assert not streams.writes[1].first
    turn = streams.writes[0].turn
    assert seen == [f"{turn}-199", f"{turn}-200", f"{turn}-201"]


def test_a_first_turn_is_not_written() -> None:
    async def scenario() -> FakeTurnStreams:
        streams = FakeTurnStreams()
        live = LiveTurn(None, streams)
        live.add("token", '{"text": "hi"}')
        await settle()
        await live.finish("done", "{}")
        return streams

    assert asyncio.run(scenario()).writes == []


def test_a_turn_whose_hold_was_taken_away_is_cancelled_at_its_next_write() -> None:
    async def scenario() -> tuple[bool, bool]:
        streams = FakeTurnStreams(held=False)
        live = LiveTurn("c0ffee00-0000-4000-8000-000000000000", streams)
        running = LiveTurns()
        never = asyncio.Event()

        async def turn() -> None:
            live.add("token", '{"text": "a"}')
            await never.wait()  # the model, still writing

        live.task = asyncio.create_task(turn())
        running.add(live)
        await settle()
        return live.task.cancelled(), live.cancel_requested

    assert asyncio.run(scenario()) == (True, True)


def test_a_settled_turn_is_not_cancelled() -> None:
    async def scenario() -> bool:
        live = LiveTurn("c0ffee00-0000-4000-8000-000000000000", FakeTurnStreams())
        live.task = asyncio.create_task(asyncio.sleep(0))
        live.settled = True
        stopped = live.cancel()
        await live.task
        return stopped

    assert asyncio.run(scenario()) is False
