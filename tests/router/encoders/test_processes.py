"""The multilingual encoder in worker processes: the same vectors, and a dead worker replaced."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import numpy as np
import pytest

from router.encoders import MultilingualEncoder, ProcessPoolEncoder
from router.errors import ArtifactError

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


def test_a_closed_encoder_says_so(local: MultilingualEncoder) -> None:
    before = set(multiprocessing.active_children())
    encoder = ProcessPoolEncoder(local, MultilingualEncoder, 1)
    started = set(multiprocessing.active_children()) - before
    assert started, "the worker runs in a child process"
    encoder.close()
    with pytest.raises(ArtifactError, match="stopped"):
        encoder.encode(["hello"])
    assert not any(p.is_alive() for p in started)
