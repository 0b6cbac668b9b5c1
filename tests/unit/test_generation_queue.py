"""The offline model's generation queue: one job at a time on its own thread, a bounded wait,
ModelBusy at once when full, and a caller that gives up never leaves work behind."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent.adapters.generation_queue import GenerationQueue
from agent.errors import ModelBusy


class Gate:
    """A job that blocks until the test opens it, recording what happened to it."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started = threading.Event()
        self.saw_cancel = False
        self.thread = ""

    def __call__(self, cancelled: threading.Event) -> str:
        self.thread = threading.current_thread().name
        self.started.set()
        while not self.open.wait(0.01):
            if cancelled.is_set():
                self.saw_cancel = True
                return "stopped"
        return "done"


def test_jobs_run_one_at_a_time_on_a_thread_of_their_own() -> None:
    queue = GenerationQueue(max_waiting=2, name="gen-test")

    async def scenario() -> list[str]:
        first, second = Gate(), Gate()
        tasks = [asyncio.create_task(queue.run(first)), asyncio.create_task(queue.run(second))]
        await asyncio.to_thread(first.started.wait, 5)
        await asyncio.sleep(0.05)
        assert not second.started.is_set(), "the second job started before the first ended"
        first.open.set()
        await asyncio.to_thread(second.started.wait, 5)
        second.open.set()
        results = list(await asyncio.gather(*tasks))
        assert first.thread.startswith("gen-test")
        assert second.thread == first.thread
        assert first.thread != threading.current_thread().name
        return results

    assert asyncio.run(scenario()) == ["done", "done"]
    assert queue.admitted == 0


def test_a_full_queue_answers_model_busy_at_once_with_a_retry_hint() -> None:
    queue = GenerationQueue(max_waiting=1)

    async def scenario() -> None:
        running, waiting = Gate(), Gate()
        tasks = [asyncio.create_task(queue.run(running)), asyncio.create_task(queue.run(waiting))]
        await asyncio.to_thread(running.started.wait, 5)
        with pytest.raises(ModelBusy) as busy:
            await queue.run(Gate())
        assert busy.value.retry_after_s >= 1
        assert busy.value.code == "model_busy"
        running.open.set()
        waiting.open.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert queue.admitted == 0


def test_a_job_whose_caller_gave_up_while_waiting_never_starts() -> None:
    queue = GenerationQueue(max_waiting=2)

    async def scenario() -> Gate:
        running, queued = Gate(), Gate()
        holder = asyncio.create_task(queue.run(running))
        await asyncio.to_thread(running.started.wait, 5)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):  # the turn's deadline passes while it waits
                await queue.run(queued)
        running.open.set()
        await holder
        return queued

    queued = asyncio.run(scenario())
    assert not queued.started.is_set()
    assert queue.admitted == 0


def test_a_running_job_sees_its_caller_give_up_and_stops() -> None:
    queue = GenerationQueue(max_waiting=0)

    async def scenario() -> Gate:
        job = Gate()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await queue.run(job)
        return job

    job = asyncio.run(scenario())
    for _ in range(500):  # the thread notices the cancel within one polling step
        if job.saw_cancel and queue.admitted == 0:
            break
        threading.Event().wait(0.01)
    assert job.saw_cancel
    assert queue.admitted == 0


def test_synchronous_callers_use_the_same_thread_and_limits() -> None:
    queue = GenerationQueue(max_waiting=0)
    job = Gate()
    job.open.set()
    assert queue.run_sync(job) == "done"
    assert queue.admitted == 0
