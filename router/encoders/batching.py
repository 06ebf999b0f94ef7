"""Micro-batching: concurrent requests' texts go to the encoder together, off the event loop.

There is no timer: a request that finds a lane idle is encoded at once (it waits for
nobody); requests that arrive while every lane is busy are gathered and go in the next batch,
up to ``max_batch`` texts. ``lanes`` encoder calls may run at once, each in a worker thread:
an encoder that keeps to one core per call (ONNX Runtime with one intra-op thread) then uses
every core under load, while the event loop needs little of any.

It also predicts how long a text queued now would take (``expected_wait_s``): the texts ahead
of it, queued and in calls, at what a text has recently cost a call (its wall time, GIL waits
included), over the lanes. The cascade sends requests elsewhere while that is long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import numpy as np

from router.encoders.base import Encoder, Vectors


@dataclass(slots=True)
class _Job:
    texts: list[str]
    done: asyncio.Future[Vectors]


class MicroBatcher:
    def __init__(self, encoder: Encoder, max_batch: int = 64, lanes: int = 1) -> None:
        self.encoder = encoder
        self.max_batch = max_batch
        self.lanes = lanes
        self._queue: list[_Job] = []
        self._running = 0  # lanes draining the queue
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued_texts = 0
        self._in_calls = 0  # texts in encoder calls now
        self._text_s = 0.0  # recent wall time of a call over its texts (moving average)
        self.batches = 0  # encoder calls made (for tests and metrics)

    @property
    def waiting(self) -> int:
        """Requests queued for the encoder and not yet in a call (the overload signal)."""
        return len(self._queue)

    def expected_wait_s(self) -> float:
        """Seconds a text queued now would wait for the texts ahead of it, at the recent cost
        a text; 0 when nothing is ahead (so an idle encoder is always tried)."""
        return (self._queued_texts + self._in_calls) * self._text_s / self.lanes

    async def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` (rows in order), sharing an encoder call with concurrent callers."""
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), loop.create_future())
        self._queue.append(job)
        self._queued_texts += len(job.texts)
        if self._running < self.lanes:
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)  # a strong reference until it ends
            task.add_done_callback(self._tasks.discard)
        return await job.done

    def _take(self) -> list[_Job]:
        """The next batch: queued jobs in order, up to ``max_batch`` texts and this lane's share
        of the queue (lanes split a burst instead of one taking all of it)."""
        self._drop_abandoned()
        taken: list[_Job] = []
        size = 0
        share = -(-len(self._queue) // self.lanes)
        while (
            self._queue
            and len(taken) < share
            and (not taken or size + len(self._queue[0].texts) <= self.max_batch)
        ):
            job = self._queue.pop(0)
            taken.append(job)
            size += len(job.texts)
        self._queued_texts -= size
        return taken

    def _drop_abandoned(self) -> None:
        """Forget queued jobs nobody waits for any more (a caller past its deadline)."""
        if any(job.done.done() for job in self._queue):
            kept = [job for job in self._queue if not job.done.done()]
            self._queued_texts = sum(len(job.texts) for job in kept)
            self._queue = kept

    async def _drain(self) -> None:
        try:
            while self._queue:
                jobs = self._take()
                if not jobs:
                    continue
                texts = [t for job in jobs for t in job.texts]
                self._in_calls += len(texts)
                started = time.perf_counter()
                try:
                    vectors = await anyio.to_thread.run_sync(self.encoder.encode, texts)
                except Exception as exc:  # the encoder failed: every caller of this batch hears
                    for job in jobs:
                        if not job.done.done():
                            job.done.set_exception(exc)
                    continue
                finally:
                    self._in_calls -= len(texts)
                self._observe((time.perf_counter() - started) / max(1, len(texts)))
                self.batches += 1
                bounds = np.cumsum([len(job.texts) for job in jobs])[:-1]
                for job, part in zip(jobs, np.split(vectors, bounds), strict=True):
                    if not job.done.done():
                        job.done.set_result(part)
        finally:
            self._running -= 1

    def _observe(self, text_s: float) -> None:
        self._text_s = text_s if self._text_s == 0 else 0.8 * self._text_s + 0.2 * text_s
