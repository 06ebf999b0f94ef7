"""all-MiniLM-L6-v2 through ONNX Runtime: the same model and vectors as the torch encoder, faster.

At first use the local weights are exported to ONNX (mean pooling inside the graph) into
``config.onnx_cache`` and reused from there; backend ``onnx-int8`` adds a dynamically
int8-quantised copy (per-channel weights; reduced range on CPUs without VNNI, where the
u8×s8 kernels could saturate). Files are keyed by a digest of the weights, written to a
temporary name and renamed, so replicas starting together never read half a file.

Serving needs only ``onnxruntime`` and ``tokenizers``; torch and transformers are imported
only to export. ``name`` and ``dim`` equal the torch encoder's, so its centroids load as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer

from router.config import EncoderConfig
from router.encoders.artifacts import project_path
from router.encoders.base import Vectors, bundled_model_path, fit_window, normalise
from router.encoders.onnx_export import cpu_session, ensure_model, import_onnxruntime
from router.errors import ArtifactError


class _Offsets:
    """What ``router.encoders.base.fit_window`` calls: a tokenizer returning ``offset_mapping``."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer

    def __call__(self, text: str, **_: object) -> dict[str, list[tuple[int, int]]]:
        return {"offset_mapping": self._tokenizer.encode(text, add_special_tokens=False).offsets}


class OnnxEncoder:
    """all-MiniLM-L6-v2 in ONNX Runtime (fp32 or dynamic int8) on CPU, offline."""

    def __init__(self, config: EncoderConfig, *, threads: int | None = None) -> None:
        """Load (exporting first if needed) the ONNX model for ``config.backend``.

        ``threads``: ONNX Runtime intra-op threads (default 1). On the 2-core target a second
        thread halves a long query's time only while the other core is idle; with the event
        loop and other requests on it, it doubles p50 instead (bench/encoders.py). Concurrent
        queries use the cores through the micro-batcher's parallel calls instead
        (``[encoder] parallel_calls``); ``encode`` is safe to call from several threads.

        Raises:
            ArtifactError: onnxruntime is missing, the model directory is missing, or the
                export failed.
        """
        ort = import_onnxruntime(config.backend)
        model_dir = config.model_path or bundled_model_path()
        if not (model_dir / "tokenizer.json").is_file():
            raise ArtifactError("no tokenizer.json: not a model directory", path=model_dir)
        cache = project_path(config.onnx_cache)
        # Dynamic int8 quantises activations with one scale per batch tensor: a text's vector
        # would depend on what it was batched with (cosine down to 0.98), and on 2 cores padded
        # batches were slower than rows alone anyway (bench/RESULTS.md). int8 runs row by row.
        self._int8 = config.backend == "onnx-int8"
        self.path = ensure_model(model_dir, cache, self._int8, config.name)
        self._session = cpu_session(ort, self.path, threads or 1)
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(config.max_seq_tokens)
        untruncated = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        untruncated.no_padding()
        untruncated.no_truncation()
        self._offsets = _Offsets(untruncated)
        self._config = config
        self._name = config.name
        self._dim = int(self._session.get_outputs()[0].shape[-1])

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if len(texts) == 1:
            return normalise(self._run([self._tokenizer.encode(texts[0]).ids]))
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        step = 1 if self._int8 else self._config.batch_size
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            out[chunk] = self._run([encodings[i].ids for i in chunk])
        return normalise(out)

    def _run(self, rows: list[list[int]]) -> Vectors:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        out: Vectors = self._session.run(None, feeds)[0]
        return out

    def fit_window(self, text: str) -> tuple[str, bool]:
        return fit_window(self._offsets, text, self._config)
