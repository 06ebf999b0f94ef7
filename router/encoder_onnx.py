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

import hashlib
import importlib
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from router.config import PROJECT_ROOT, EncoderConfig
from router.embedding import Vectors, bundled_model_path, fit_window, normalise
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17
_MISSING = (
    "backend {backend!r} needs onnxruntime (and onnx to quantise): "
    "pip install onnxruntime onnx, or set [encoder] backend = 'torch'"
)


def project_path(path: Path) -> Path:
    """A configured path; relative ones are taken from the project root."""
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def cpu_isa() -> str:
    """The int8 kernel family this CPU runs: vnni, avx512, avx2 or generic."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "generic"
    if {"avx512_vnni", "avx_vnni"} & flags:
        return "vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2" if "avx2" in flags else "generic"


def _import_onnxruntime(backend: str) -> Any:
    # importlib: onnxruntime ships no type information; its API is used as Any here.
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise ArtifactError(_MISSING.format(backend=backend)) from exc


def weights_digest(model_dir: Path) -> str:
    """sha256 (first 12 hex digits) of the model's weights and config: the cache key."""
    digest = hashlib.sha256()
    files = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    for path in [*files, model_dir / "config.json"]:
        if path.is_file():
            digest.update(path.name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    tmp = target.with_name(f".{target.stem}-{uuid.uuid4().hex[:8]}.onnx.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_fp32(model_dir: Path, target: Path) -> None:
    """Trace the transformer plus masked mean pooling to ONNX (dynamic batch and length).

    Raises:
        ArtifactError: the model cannot be loaded or traced.
    """
    import torch
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="eager"
        ).eval()
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load encoder for export: {exc}", path=model_dir) from exc

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            out = self.model(input_ids=ids, attention_mask=mask, token_type_ids=types)
            weights = mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            summed = (out.last_hidden_state * weights).sum(1)
            return summed / weights.sum(1).clamp(min=1e-9)

    # A padded dummy batch, so the traced graph keeps the attention-mask path.
    ids = torch.full((2, 8), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    axes = {name: {0: "batch", 1: "seq"} for name in _INPUTS}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(),
                (ids, mask, torch.zeros_like(ids)),
                str(tmp),
                dynamo=False,
                input_names=list(_INPUTS),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=_OPSET,
            )

    _atomic(target, write)


def quantize_int8(source: Path, target: Path, isa: str) -> None:
    """Dynamic int8 quantisation: per-channel s8 weights, u8 activations quantised at run time.

    Raises:
        ArtifactError: onnxruntime's quantiser is missing.
    """
    try:
        quantization = importlib.import_module("onnxruntime.quantization")
    except ImportError as exc:
        raise ArtifactError(_MISSING.format(backend="onnx-int8")) from exc

    def write(tmp: Path) -> None:
        quantization.quantize_dynamic(
            source,
            tmp,
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,  # per-tensor scales cost ~0.15 cosine on this model
            reduce_range=isa != "vnni",
        )

    _atomic(target, write)


def ensure_model(model_dir: Path, cache: Path, int8: bool, label: str) -> Path:
    """The cached ONNX file for ``model_dir``, exported (and quantised) first if missing.

    Kept in ``cache/<label>-<weights digest>/``: other weights never reuse a stale export.

    Raises:
        ArtifactError: export or quantisation failed, or the cache is not writable.
    """
    folder = cache / f"{label}-{weights_digest(model_dir)}"
    fp32 = folder / "model.onnx"
    isa = cpu_isa()
    wanted = folder / f"model.int8-{isa}.onnx" if int8 else fp32
    if wanted.is_file():
        return wanted
    try:
        folder.mkdir(parents=True, exist_ok=True)
        steps: dict[str, float] = {}
        if not fp32.is_file():
            start = time.perf_counter()
            export_fp32(model_dir, fp32)
            steps["export_s"] = round(time.perf_counter() - start, 2)
        if int8:
            start = time.perf_counter()
            quantize_int8(fp32, wanted, isa)
            steps["quantize_s"] = round(time.perf_counter() - start, 2)
        log.info("exported %s to ONNX: %s %s", model_dir, wanted, steps)
        _note(folder, wanted.name, steps)
    except OSError as exc:
        raise ArtifactError(f"cannot write the ONNX cache: {exc}", path=folder) from exc
    except (RuntimeError, ValueError) as exc:  # the tracer or the quantiser gave up
        raise ArtifactError(f"ONNX export failed: {exc}", path=model_dir) from exc
    return wanted


def _note(folder: Path, file: str, steps: dict[str, float]) -> None:
    import torch

    path = folder / "export.json"
    try:
        notes = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:  # another replica's note, half written: start over
        notes = {}
    notes[file] = {
        **steps,
        "torch": torch.__version__,
        "onnxruntime": _import_onnxruntime("onnx").__version__,
        "opset": _OPSET,
    }
    tmp = path.with_name(f".export-{uuid.uuid4().hex[:8]}.json.tmp")
    tmp.write_text(json.dumps(notes, indent=2) + "\n")
    os.replace(tmp, path)


class _Offsets:
    """What ``router.embedding.fit_window`` calls: a tokenizer returning ``offset_mapping``."""

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
        queries are batched by the micro-batcher, not split across threads.

        Raises:
            ArtifactError: onnxruntime is missing, the model directory is missing, or the
                export failed.
        """
        ort = _import_onnxruntime(config.backend)
        model_dir = config.model_path or bundled_model_path()
        if not (model_dir / "tokenizer.json").is_file():
            raise ArtifactError("no tokenizer.json: not a model directory", path=model_dir)
        cache = project_path(config.onnx_cache)
        self.path = ensure_model(model_dir, cache, config.backend == "onnx-int8", config.name)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise ArtifactError(f"cannot load ONNX model: {exc}", path=self.path) from exc
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
        step = self._config.batch_size
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
