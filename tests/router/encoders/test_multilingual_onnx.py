"""The multilingual encoder's ONNX backends against the package's numpy forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router.classify import build_multilingual_stage
from router.config import load_config
from router.encoders import MultilingualEncoder, ProcessPoolEncoder

TEXTS = [
    "Écris un poème sur la pluie",
    "写一首关于春天的诗",
    "sort a list in python",
    "",
    "Переведи на английский: завтра я опоздаю на работу, потому что у меня приём у врача. " * 6,
    "dịch sang tiếng anh giúp mình",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return MultilingualEncoder().encode(TEXTS)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def test_the_float_graph_gives_the_numpy_vectors(reference: np.ndarray, cache: Path) -> None:
    encoder = MultilingualEncoder(backend="onnx", onnx_cache=cache)
    together = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, reference, atol=1e-5)
    np.testing.assert_allclose(alone, reference, atol=1e-5)  # no text leaks into another


def test_int8_stays_close_and_does_not_depend_on_the_batch(
    reference: np.ndarray, cache: Path
) -> None:
    encoder = MultilingualEncoder(backend="onnx-int8", onnx_cache=cache)
    together = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    assert ((together * reference).sum(axis=1) > 0.97).all()
    np.testing.assert_array_equal(together, alone)
    assert encoder.served_digest() != encoder.weights_digest()


def test_the_export_is_built_once_and_reused(cache: Path) -> None:
    MultilingualEncoder(backend="onnx-int8", onnx_cache=cache)
    files = sorted(p.name for p in cache.glob("*/*.onnx"))
    first = {p: p.stat().st_mtime_ns for p in cache.glob("*/*.onnx")}
    MultilingualEncoder(backend="onnx-int8", onnx_cache=cache)
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*/*.onnx")} == first
    assert "model.onnx" in files and any(name.startswith("model.int8-") for name in files)


def test_workers_run_the_configured_backend(reference: np.ndarray, cache: Path) -> None:
    local = MultilingualEncoder(backend="onnx", onnx_cache=cache)
    pooled = ProcessPoolEncoder(local, MultilingualEncoder.factory("onnx", cache), 1)
    try:
        np.testing.assert_allclose(pooled.encode(TEXTS), reference, atol=1e-5)
    finally:
        pooled.close()


def test_the_stage_serves_int8_by_default_and_says_so() -> None:
    stage = build_multilingual_stage(load_config(None), workers=False)
    assert stage is not None
    assert stage.backend == "onnx-int8"
    assert isinstance(stage.encoder, MultilingualEncoder)
    assert stage.encoder.backend == "onnx-int8"
