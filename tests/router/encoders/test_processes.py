"""The multilingual encoder in worker processes: the same vectors, and a dead worker replaced."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import numpy as np
import pytest

from router.encoders import MultilingualEncoder, ProcessPoolEncoder

TEXTS = ["Écris un poème sur la pluie", "写一首关于春天的诗", "sort a list in python", ""]


@pytest.fixture(scope="module")
def local() -> MultilingualEncoder:
    return MultilingualEncoder()


@pytest.fixture
def pooled(local: MultilingualEncoder) -> Iterator[ProcessPoolEncoder]:
    encoder = ProcessPoolEncoder(local, MultilingualEncoder, 1)
    yield encoder
    encoder.close()


def test_workers_embed_as_the_encoder_does_here(
    local: MultilingualEncoder, pooled: ProcessPoolEncoder
) -> None:
    assert (pooled.name, pooled.dim) == (local.name, local.dim)
    assert pooled.fit_window("x" * 5000) == local.fit_window("x" * 5000)
    here, there = local.encode(TEXTS), pooled.encode(TEXTS)
    assert there.shape == (len(TEXTS), local.dim) and there.dtype == np.float32
    assert np.allclose(here, there, atol=1e-6)  # the same code on the same CPU
    assert pooled.encode([]).shape == (0, local.dim)


def test_a_dead_worker_is_replaced_and_the_call_answered(
    local: MultilingualEncoder, pooled: ProcessPoolEncoder
) -> None:
    pooled.encode(["warm"])
    workers = multiprocessing.active_children()
    assert workers, "the encoder runs in a child process"
    for worker in workers:
        worker.kill()
        worker.join(5)
    vectors = pooled.encode(TEXTS[:2])  # the broken pool is noticed, replaced, and asked again
    assert np.allclose(vectors, local.encode(TEXTS[:2]), atol=1e-6)
