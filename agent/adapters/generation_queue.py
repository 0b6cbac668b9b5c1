"""One generation at a time, on a thread of its own, behind a short queue.

The offline model's llama instance is not thread-safe, and a generation keeps both cores busy for
a second or more. So generations run on one dedicated thread (never the event loop's default
executor, where the database calls run: those must never wait behind the model), at most
`max_waiting` turns wait behind the running one, and a turn that finds the queue full is told at
once (ModelBusy) instead of waiting until its deadline.

A caller that gives up (its turn's deadline passed, or the client went away) cancels its job: a
job still waiting never starts, and a running one sees its `cancelled` event and stops at the next
token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from agent.errors import ModelBusy

T = TypeVar("T")
Job = Callable[[threading.Event], T]


class GenerationQueue:
    def __init__(self, max_waiting: int, *, name: str = "kopichat-model") -> None:
        self._max_waiting = max_waiting
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._recent_job_s = 2.0  # for the Retry-After hint; updated as jobs finish

    @property
    def admitted(self) -> int:
        with self._lock:
            return self._admitted

    def _admit(self) -> None:
        with self._lock:
            if self._admitted > self._max_waiting:
                raise ModelBusy(retry_after_s=math.ceil(self._admitted * self._recent_job_s))
            self._admitted += 1

    def _release(self, seconds: float | None) -> None:
        with self._lock:
            self._admitted -= 1
            if seconds is not None:
                self._recent_job_s = 0.7 * self._recent_job_s + 0.3 * seconds

    def _submit(self, job: Job[T]) -> tuple[concurrent.futures.Future[T], threading.Event]:
        self._admit()
        cancelled = threading.Event()

        def timed() -> T:
            started = time.monotonic()
            try:
                return job(cancelled)
            finally:
                self._release(time.monotonic() - started)

        try:
            future = self._executor.submit(timed)
        except BaseException:
            self._release(None)
            raise

        def never_started(done: concurrent.futures.Future[T]) -> None:
            if done.cancelled():  # `timed` never ran, so it released nothing
                self._release(None)

        future.add_done_callback(never_started)
        return future, cancelled

    async def run(self, job: Job[T]) -> T:
        """Run `job` on the generation thread; cancelling the caller cancels the job."""
        future, cancelled = self._submit(job)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancelled.set()
            future.cancel()
            raise

    def run_sync(self, job: Job[T]) -> T:
        """The same for synchronous callers (a notebook's `chain.invoke`)."""
        future, cancelled = self._submit(job)
        try:
            return future.result()
        except BaseException:
            cancelled.set()
            future.cancel()
            raise
