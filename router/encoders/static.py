"""Static embeddings distilled from all-MiniLM-L6-v2 with model2vec: a table lookup and a mean.

A query costs a tokenisation and an average of token vectors (~0.1 ms), no transformer.
The vectors live in another space than the transformer's (fewer dimensions, PCA-rotated),
so the encoder has its own ``name`` and needs centroids fitted with it (``static-v2``).
The model ships with the package (router.encoders.static_model); ``[encoder] static_path`` may name
another one, in that format or a model2vec directory (``python -m training.distill_static``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from router.config import EncoderConfig
from router.encoders.artifacts import project_path
from router.encoders.base import Vectors, normalise
from router.encoders.static_model import (
    SHIPPED_STATIC_DIR,
    is_shipped_format,
    load_table,
    model_digest,
)
from router.encoders.wordpiece import AsciiWordPiece
from router.errors import ArtifactError

# A static model has no window, but a pasted book costs tokenisation time and drowns the
# instruction: keep about this many tokens (≈ 4 characters each), head and tail.
STATIC_WINDOW_CHARS = 4096


def static_model_dir(config: EncoderConfig) -> Path:
    """``config.static_path`` (relative to the project root) or the shipped model."""
    return project_path(config.static_path) if config.static_path else SHIPPED_STATIC_DIR


def static_name(config: EncoderConfig, dim: int) -> str:
    """The encoder name centroids are checked against: base model, method, dimension."""
    return f"{config.name}-static-m2v-{dim}"


def cut_window(text: str, budget: int, truncation: str, head_fraction: float) -> tuple[str, bool]:
    """Keep at most ``budget`` characters: the head, or the head and the tail.

    Cuts fall on whitespace where one is near, so no word is split in two.
    """
    if len(text) <= budget:
        return text, False
    if truncation == "head":
        return _left_of_space(text[:budget]), True
    n_head = max(1, round(budget * head_fraction))
    n_tail = max(0, budget - n_head)
    tail = _right_of_space(text[-n_tail:]) if n_tail else ""
    return f"{_left_of_space(text[:n_head])} … {tail}", True


def _left_of_space(head: str) -> str:
    cut = head.rfind(" ", len(head) - 32)
    return head[:cut] if cut > 0 else head


def _right_of_space(tail: str) -> str:
    cut = tail.find(" ", 0, 32)
    return tail[cut + 1 :] if cut >= 0 else tail


class StaticEncoder:
    """A model2vec static model: mean of (PCA-reduced, SIF-weighted) token vectors."""

    def __init__(self, config: EncoderConfig) -> None:
        """Load the static model in ``config.static_path`` (default: the shipped one).

        Raises:
            ArtifactError: the model is missing or unreadable (or, for a model2vec directory,
                model2vec is not installed).
        """
        path = static_model_dir(config)
        if not path.is_dir():
            raise ArtifactError(
                f"no static model at {path}: leave [encoder] static_path unset for the shipped "
                "one, or distil one there (python -m training.distill_static --out PATH)",
                path=path,
            )
        self._model: Any = None
        if is_shipped_format(path):
            shipped = load_table(path)
            table, self._tokenizer, self._unk = shipped.table, shipped.tokenizer, shipped.unk_id
            self.digest = shipped.digest
            self._table: np.ndarray[Any, np.dtype[np.float32]] | None = table
        else:
            model = self._model = _load(path)
            table = np.asarray(model.embedding, dtype=np.float32)
            # Plain tables are averaged here (no per-call dtype casts); other layouts
            # (vocabulary quantisation, token weights) go through model2vec itself.
            plain = getattr(model, "token_mapping", None) is None and model.weights is None
            self._table = table if plain else None
            self._tokenizer = model.tokenizer
            self._unk = getattr(model, "unk_token_id", None)
            self.digest = model_digest(path)
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._wordpiece = AsciiWordPiece.of(self._tokenizer) if self._table is not None else None
        self._config = config
        self._dim = int(table.shape[1])
        self._name = static_name(config, self._dim)
        self.path = path

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if self._table is None:
            out = self._model.encode(list(texts), max_length=None, show_progress_bar=False)
            return normalise(out)
        vectors = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, ids in enumerate(self._token_ids(texts)):
            if self._unk is not None:
                ids = [t for t in ids if t != self._unk]
            if ids:
                vectors[i] = self._table[ids].sum(axis=0)  # the mean's direction: normalised below
        return normalise(vectors)

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids: ASCII text by the Python WordPiece where the tokenizer is
        BERT's (router/encoders/wordpiece.py), the rest by the library in one batch."""
        fast = self._wordpiece
        found = [fast.ids(t) if fast is not None else None for t in texts]
        missing = [i for i, ids in enumerate(found) if ids is None]
        if missing:
            batch = [texts[i] for i in missing]
            encodings = self._tokenizer.encode_batch_fast(batch, add_special_tokens=False)
            for i, encoding in zip(missing, encodings, strict=True):
                found[i] = encoding.ids
        return [ids or [] for ids in found]

    def fit_window(self, text: str) -> tuple[str, bool]:
        config = self._config
        return cut_window(text, STATIC_WINDOW_CHARS, config.truncation, config.head_fraction)


def _load(path: Path) -> Any:
    # importlib keeps model2vec optional for the other backends (and its types at the edge).
    try:
        model2vec = importlib.import_module("model2vec")
    except ImportError as exc:
        raise ArtifactError(
            "backend 'static' needs model2vec: pip install model2vec", path=path
        ) from exc
    try:
        return model2vec.StaticModel.from_pretrained(path, normalize=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"cannot load static model: {exc}", path=path) from exc
