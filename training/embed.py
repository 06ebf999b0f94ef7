"""Embedding example texts as the router embeds a request (window-fitted), in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from router.encoders import Encoder, Vectors


def embed_examples(
    encoder: Encoder, texts: Sequence[str], *, batch: int = 128, progress: bool = True
) -> Vectors:
    """Embed what the router would embed for each text (window-fitted), in batches."""
    prepared = [encoder.fit_window(t)[0] for t in texts]
    chunks = range(0, len(prepared), batch)
    out = [
        encoder.encode(prepared[i : i + batch])
        for i in tqdm(chunks, desc="embedding", unit="batch", disable=not progress)
    ]
    return np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)


class MemoisedEncoder:
    """``inner`` with every text's vector kept: refits and evaluations of one comparison
    embed each text once (a USE forward pass is ~2 ms; a comparison embeds ~8,000 texts
    dozens of times)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self._vectors: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def fit_window(self, text: str) -> tuple[str, bool]:
        return self.inner.fit_window(text)

    def encode(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._vectors[t] for t in texts])
