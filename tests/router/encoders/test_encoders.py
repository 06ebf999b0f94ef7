"""The ONNX and static encoder backends: same vectors as torch, loading, dispatch, errors.

The ONNX tests export all-MiniLM-L6-v2 once per session (~5 s export, ~2 s int8
quantisation on 2 cores) into a temporary cache. The static tests build a tiny model2vec
model over MiniLM's tokenizer (random vectors) for the model2vec-directory path; the shipped
static model and its checks are in test_portable_artifacts.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from router.classify.centroids import load_centroids
from router.config.settings import PROJECT_ROOT, EncoderConfig
from router.encoders import SentenceTransformerEncoder, build_encoder, bundled_model_path
from router.encoders.artifacts import project_path
from router.encoders.base import fit_window
from router.encoders.onnx import OnnxEncoder
from router.encoders.static import StaticEncoder, cut_window, static_name
from router.errors import ArtifactError

SENTENCES = [
    "Write a Python function that reverses a linked list in place.",
    "What is the capital of Australia?",
    "hi! how was your weekend?",
    "Summarise the following article in three bullet points: " + "The council met. " * 40,
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("onnxruntime")
    yield tmp_path_factory.mktemp("onnx")


def onnx_config(cache: Path, backend: Literal["onnx", "onnx-int8"] = "onnx") -> EncoderConfig:
    return EncoderConfig(backend=backend, onnx_cache=cache)


@pytest.mark.slow
def test_onnx_vectors_match_torch(
    onnx_cache: Path, torch_encoder: SentenceTransformerEncoder
) -> None:
    encoder = OnnxEncoder(onnx_config(onnx_cache))
    assert (encoder.name, encoder.dim) == (torch_encoder.name, torch_encoder.dim)
    ours, torch = encoder.encode(SENTENCES), torch_encoder.encode(SENTENCES)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(ours * torch, axis=1)) > 1 - 1e-3


@pytest.mark.slow
def test_onnx_batches_equal_single_queries(onnx_cache: Path) -> None:
    encoder = OnnxEncoder(onnx_config(onnx_cache))
    batch = encoder.encode(SENTENCES)  # padded to the longest row
    singles = np.concatenate([encoder.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


@pytest.mark.slow
def test_onnx_int8_is_close_to_torch(
    onnx_cache: Path, torch_encoder: SentenceTransformerEncoder
) -> None:
    encoder = OnnxEncoder(onnx_config(onnx_cache, "onnx-int8"))
    assert encoder.path.name.startswith("model.int8-")
    cosines = np.sum(encoder.encode(SENTENCES) * torch_encoder.encode(SENTENCES), axis=1)
    assert cosines.mean() > 0.98
    assert cosines.min() > 0.96


@pytest.mark.slow
def test_onnx_int8_vectors_do_not_depend_on_the_batch(onnx_cache: Path) -> None:
    # Dynamic quantisation scales activations per batch tensor: batched rows would drift
    # (cosine 0.98) with their neighbours, and so would routing under load.
    encoder = OnnxEncoder(onnx_config(onnx_cache, "onnx-int8"))
    alone = np.concatenate([encoder.encode([s]) for s in SENTENCES])
    np.testing.assert_array_equal(encoder.encode(SENTENCES), alone)
    np.testing.assert_array_equal(encoder.encode(SENTENCES[::-1])[::-1], alone)


@pytest.mark.slow
def test_onnx_export_is_cached_and_reused(onnx_cache: Path) -> None:
    first = OnnxEncoder(onnx_config(onnx_cache))
    stamp = first.path.stat().st_mtime_ns
    again = OnnxEncoder(onnx_config(onnx_cache))
    assert again.path == first.path
    assert again.path.stat().st_mtime_ns == stamp
    assert (first.path.parent / "export.json").is_file()
    assert not list(first.path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    "text",
    [
        "a" * 254,
        "x " * 127,
        ".,;" * 84 + "!!",
        "한국어를 배우고 싶어요" * 12,
        "中文" * 127,
        "é" * 254,
    ],
)
def test_short_texts_skip_the_tokenizer_only_when_they_surely_fit(text: str) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokens = len(tokenizer.encode(text, add_special_tokens=False).ids)

    def offsets(text: str, **_: object) -> dict[str, list[tuple[int, int]]]:
        return {"offset_mapping": tokenizer.encode(text, add_special_tokens=False).offsets}

    fitted, cut = fit_window(offsets, text, EncoderConfig(max_seq_tokens=256))
    assert cut == (tokens > 254)
    assert (fitted == text) == (not cut)


@pytest.mark.slow
def test_onnx_fit_window_is_the_torch_one(
    onnx_cache: Path, torch_encoder: SentenceTransformerEncoder
) -> None:
    encoder = OnnxEncoder(onnx_config(onnx_cache))
    long = "Please read this report. " + "Revenue grew in every region. " * 300 + "Summarise it."
    for text in (long, "short question?", "x" * 50_000):
        assert encoder.fit_window(text) == torch_encoder.fit_window(text)


def test_onnx_without_onnxruntime_is_an_artifact_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an absent package looks like
    with pytest.raises(ArtifactError, match="onnxruntime"):
        OnnxEncoder(onnx_config(tmp_path))


def test_relative_paths_are_taken_from_the_project_root(tmp_path: Path) -> None:
    assert project_path(Path("var/onnx")) == PROJECT_ROOT / "var" / "onnx"
    assert project_path(tmp_path) == tmp_path


@pytest.fixture
def tiny_static(tmp_path: Path) -> Path:
    """A model2vec model over MiniLM's tokenizer with random 16-d vectors."""
    model2vec = pytest.importorskip("model2vec")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16))
    model = model2vec.StaticModel(vectors.astype(np.float32), tokenizer, normalize=True)
    model.save_pretrained(str(tmp_path / "static"))
    return tmp_path / "static"


def test_static_encoder_gives_unit_vectors_of_its_dim(tiny_static: Path) -> None:
    config = EncoderConfig(backend="static", static_path=tiny_static)
    encoder = StaticEncoder(config)
    assert encoder.dim == 16
    assert encoder.name == static_name(config, 16) != config.name
    vectors = encoder.encode(["hello world", "Write a haiku about rain", ""])
    assert vectors.shape == (3, 16)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert not vectors[2].any()  # no tokens: a zero row, never NaN


def test_static_encoder_agrees_with_model2vec(tiny_static: Path) -> None:
    from model2vec import StaticModel

    texts = ["Write a Python function", "What is the capital of France?"]
    ours = StaticEncoder(EncoderConfig(backend="static", static_path=tiny_static)).encode(texts)
    theirs = StaticModel.from_pretrained(tiny_static).encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_build_encoder_dispatches_on_backend(tiny_static: Path) -> None:
    encoder = build_encoder(EncoderConfig(backend="static", static_path=tiny_static))
    assert isinstance(encoder, StaticEncoder)


@pytest.mark.slow
def test_build_encoder_dispatches_to_onnx_and_torch(onnx_cache: Path) -> None:
    assert isinstance(build_encoder(onnx_config(onnx_cache)), OnnxEncoder)
    assert isinstance(build_encoder(onnx_config(onnx_cache, "onnx-int8")), OnnxEncoder)
    assert isinstance(build_encoder(EncoderConfig(backend="torch")), SentenceTransformerEncoder)


def test_a_missing_static_model_is_a_clear_artifact_error_naming_the_fix(
    tmp_path: Path,
) -> None:
    config = EncoderConfig(backend="static", static_path=tmp_path / "nowhere")
    with pytest.raises(ArtifactError, match="static_path unset") as info:
        build_encoder(config)
    assert info.value.path == tmp_path / "nowhere"
    assert not (tmp_path / "nowhere").exists()  # nothing is built at first use any more


def test_shipped_static_centroids_name_the_distilled_encoder() -> None:
    """static-v2 loads for the encoder a default distillation (256 dims) produces."""
    config = EncoderConfig(backend="static")
    name = static_name(config, 256)
    centroids = load_centroids(PROJECT_ROOT / "centroids", "static-v2", encoder_name=name, dim=256)
    assert centroids.tasks
    with pytest.raises(ArtifactError):  # the transformer's vectors do not fit them
        load_centroids(PROJECT_ROOT / "centroids", "static-v2", encoder_name=config.name, dim=384)


@pytest.mark.parametrize("truncation", ["head", "head_tail"])
def test_static_window_keeps_short_text_and_cuts_long_text(truncation: str) -> None:
    assert cut_window("short text", 100, truncation, 0.5) == ("short text", False)
    text = "Begin here. " + "filler words go on " * 500 + "Now summarise all of it."
    cut, truncated = cut_window(text, 400, truncation, 0.5)
    assert truncated
    assert len(cut) <= 403
    assert cut.startswith("Begin here.")
    assert cut.endswith("summarise all of it.") == (truncation == "head_tail")
