"""Micro-batching and the exact-match embedding memo."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from router import Router
from router.encoders import Vectors
from router.encoders.batching import MicroBatcher
from router.types import ChatRequest, Message
from tests.fakes import HashingEncoder


class SlowEncoder(HashingEncoder):
    """Takes 20 ms per call whatever the batch size, like a model on a busy CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.sizes.append(len(texts))
        time.sleep(0.02)
        return super().encode(texts)


async def test_concurrent_requests_share_encoder_calls() -> None:
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=64)
    texts = [[f"text number {i}", f"context {i}"] for i in range(16)]
    results = await asyncio.gather(*(batcher.encode(t) for t in texts))
    assert len(enc.sizes) < 16  # coalesced
    assert sum(enc.sizes) == 32
    for t, r in zip(texts, results, strict=True):
        np.testing.assert_allclose(r, HashingEncoder().encode(t), atol=1e-6)


async def test_a_lone_request_waits_for_nobody() -> None:
    enc = SlowEncoder()
    batcher = MicroBatcher(enc)
    started = time.perf_counter()
    await batcher.encode(["only me"])
    assert time.perf_counter() - started < 0.2
    assert enc.sizes == [1]


async def test_batches_are_bounded() -> None:
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=4)
    await asyncio.gather(*(batcher.encode([f"t{i}"]) for i in range(12)))
    assert max(enc.sizes) <= 4


class BrokenEncoder(HashingEncoder):
    def encode(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("model crashed")


async def test_encoder_errors_reach_every_caller_of_the_batch() -> None:
    batcher = MicroBatcher(BrokenEncoder())
    results = await asyncio.gather(
        *(batcher.encode(["x"]) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):  # and the batcher keeps working for the next caller
        await batcher.encode(["y"])


async def test_repeated_requests_skip_the_encoder(router: Router) -> None:
    encoder = router.encoder
    assert isinstance(encoder, HashingEncoder)
    request = ChatRequest(messages=(Message("user", "write a python function for this bug"),))
    first = await router.route(request)
    calls = encoder.calls
    second = await router.route(request)
    assert encoder.calls == calls  # answered from the memo
    assert second.match == first.match
    assert router.memo.hits == 1
    other = ChatRequest(messages=(Message("user", "something else entirely"),))
    await router.route(other)
    assert encoder.calls == calls + 1


class OverlapEncoder(HashingEncoder):
    """Records how many calls ran at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.active = 0
        self.most = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.03)
        with self._lock:
            self.active -= 1
        return super().encode(texts)


@pytest.mark.parametrize("lanes", [1, 2, 3])
async def test_at_most_lanes_encoder_calls_run_at_once(lanes: int) -> None:
    enc = OverlapEncoder()
    batcher = MicroBatcher(enc, max_batch=2, lanes=lanes)
    texts = [[f"text {i}"] for i in range(12)]
    results = await asyncio.gather(*(batcher.encode(t) for t in texts))
    assert enc.most == lanes
    for t, r in zip(texts, results, strict=True):
        np.testing.assert_allclose(r, HashingEncoder().encode(t), atol=1e-6)
    await asyncio.sleep(0)
    assert batcher._running == 0 and not batcher._tasks


async def test_lanes_split_a_burst_instead_of_one_taking_it_all() -> None:
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=64, lanes=2)
    await asyncio.gather(*(batcher.encode([f"text {i}"]) for i in range(20)))
    assert sum(enc.sizes) == 20
    assert max(enc.sizes) <= 10  # half of the queue each, at most


async def test_an_idle_encoder_predicts_no_wait() -> None:
    batcher = MicroBatcher(SlowEncoder(), max_batch=64)
    assert batcher.expected_wait_s() == 0.0  # nothing measured, nothing ahead
    await batcher.encode(["one"])
    assert batcher.expected_wait_s() == 0.0  # measured, but nothing is ahead


async def test_the_predicted_wait_counts_the_texts_ahead_at_their_recent_cost() -> None:
    batcher = MicroBatcher(SlowEncoder(), max_batch=64, lanes=1)
    await batcher.encode(["a", "b"])  # ~20 ms for two texts: ~10 ms a text
    calls = [asyncio.ensure_future(batcher.encode([f"t{i}"])) for i in range(5)]
    await asyncio.sleep(0)  # the first is in a call, the other four are queued
    waiting = batcher.expected_wait_s()
    assert 5 * 0.008 <= waiting <= 5 * 0.1  # five texts ahead at ~10 ms (a busy box: more)
    await asyncio.gather(*calls)
    assert batcher.expected_wait_s() == 0.0


async def test_a_text_whose_caller_stopped_waiting_is_not_encoded() -> None:
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=64, lanes=1)
    first = asyncio.ensure_future(batcher.encode(["in the call"]))
    await asyncio.sleep(0)  # the lane takes it
    gone = asyncio.ensure_future(batcher.encode(["abandoned"]))
    kept = asyncio.ensure_future(batcher.encode(["still wanted"]))
    await asyncio.sleep(0)
    gone.cancel()  # its caller went past its deadline while it was queued
    await asyncio.gather(first, kept)
    assert gone.cancelled()
    assert enc.sizes == [1, 1]  # "abandoned" never reached the encoder
    assert batcher.expected_wait_s() == 0.0  # and is not counted as ahead of anyone
