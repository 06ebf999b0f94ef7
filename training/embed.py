"""Embedding example texts as the router embeds a request (window-fitted), in batches."""

from __future__ import annotations

from collections.abc import Sequence

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
