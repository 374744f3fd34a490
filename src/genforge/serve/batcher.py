"""One micro-batcher per model: requests queue on the event loop, the model runs on its own thread.

Why our own: the batchers of Ray Serve, BentoML and LitServe come with their whole serving runtime; the
part we need is forty lines of asyncio. A request is a :class:`Job` with a ``key``: jobs with the same
key can share one call of the model (same operation and input shape), the rest run in turn.

- A lone request never waits: the worker takes the first job and runs at once when nothing else queued.
- What queued while the model was busy forms the next batch (same key, up to ``max_batch`` jobs and,
  when ``max_cost`` is set, up to that total cost: text requests cost the tokens they may hold, a token
  budget); only when a queue has formed does the batch wait up to ``max_wait_ms`` to fill.
- The queue is bounded: a full one raises :class:`QueueFull` at submission (the server answers 503 +
  ``Retry-After``) instead of growing latency.
- A job whose caller is gone (cancelled, timed out, client disconnected) is skipped when its turn
  comes; a running streamed job sees its ``cancelled`` event and stops at the next token.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    """The model's queue holds ``max_queue`` requests already."""


@dataclass
class Job:
    payload: Any
    key: Hashable
    future: asyncio.Future
    cancelled: threading.Event = field(default_factory=threading.Event)
    cost: int = 1
    submitted: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Runs ``run_batch(jobs) -> results`` (one result per job, same order) on one thread; a job's
    ``payload`` is what was submitted, its ``cancelled`` event tells a long job to stop.

    ``run_batch`` may raise; the exception goes to every job of that batch. ``on_batch(size)``,
    ``on_queue(depth)`` and ``on_cancel()`` (a queued job dropped because its caller left) report to
    metrics.
    """

    def __init__(
        self,
        name: str,
        run_batch: Callable[[list[Job]], list[Any]],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 2.0,
        max_queue: int = 256,
        max_cost: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_queue: Callable[[int], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.max_cost = max_cost
        self.on_batch = on_batch or (lambda size: None)
        self.on_queue = on_queue or (lambda depth: None)
        self.on_cancel = on_cancel or (lambda: None)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{name}")
        self._pending: deque[Job] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.busy = False

    @property
    def depth(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for job in self._pending:
            if not job.future.done():
                job.future.cancel()
        self._pending.clear()
        self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, payload: Any, key: Hashable | None = None, cost: int = 1) -> Job:
        """Queue ``payload``; ``await job.future`` for its result. Raises :class:`QueueFull`.
        ``cost`` counts against ``max_cost`` per batch (text: the tokens a request may hold)."""
        if len(self._pending) >= self.max_queue:
            raise QueueFull(f"the queue of model {self.name!r} is full ({self.max_queue} requests)")
        loop = asyncio.get_running_loop()
        job = Job(payload, key if key is not None else object(), loop.create_future(), cost=cost)
        self._pending.append(job)
        self.on_queue(len(self._pending))
        assert self._wake is not None, "MicroBatcher.start() was not called"
        self._wake.set()
        return job

    async def run_alone(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the model's thread outside any batch (warm-up)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def _gone(self, job: Job) -> bool:
        """True for a job nobody waits for any more (its future is then cancelled, and counted)."""
        if job.cancelled.is_set() and not job.future.done():
            job.future.cancel()
        if job.future.done():
            self.on_cancel()
            return True
        return False

    def _take_batch(self) -> list[Job]:
        while self._pending and self._gone(self._pending[0]):
            self._pending.popleft()
        if not self._pending:
            return []
        first = self._pending.popleft()
        batch, rest = [first], deque()
        budget = (self.max_cost if self.max_cost is not None else float("inf")) - first.cost
        while self._pending and len(batch) < self.max_batch:
            job = self._pending.popleft()
            if self._gone(job):
                continue
            fits = job.key == first.key and job.cost <= budget
            (batch if fits else rest).append(job)
            budget -= job.cost if fits else 0
        rest.extend(self._pending)
        self._pending = rest
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take_batch()
            if not batch:
                continue
            if len(batch) > 1 and len(batch) < self.max_batch and self.max_wait > 0:
                await asyncio.sleep(self.max_wait)  # a queue formed: let it fill a little
                self._pending.extendleft(reversed(batch))
                batch = self._take_batch()
                if not batch:
                    continue
            self.on_queue(len(self._pending))
            self.on_batch(len(batch))
            self.busy = True
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, batch)
            except Exception as exc:  # the model's error belongs to the requests, not to the loop
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            else:
                for job, result in zip(batch, results, strict=True):
                    if not job.future.done():
                        job.future.set_result(result)
            finally:
                self.busy = False
