"""Exporting encoders to ONNX and quantising them to int8, once, into ``[encoder]
onnx_cache``: all-MiniLM-L6-v2 (mean pooling inside the graph; ``router.encoders.onnx``
serves it) by default, another model through its ``Exporter`` (the multilingual encoder:
``router.encoders.multilingual_onnx``).

torch and transformers are imported only here, only when MiniLM must be exported.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.encoders.artifacts import weights_digest, write_atomically
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17
MISSING = (
    "backend {backend!r} needs onnxruntime (and onnx to quantise): "
    "pip install onnxruntime onnx, or set [encoder] backend = 'torch'"
)


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


def import_onnxruntime(backend: str) -> Any:
    # importlib: onnxruntime ships no type information; its API is used as Any here.
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise ArtifactError(MISSING.format(backend=backend)) from exc


def cpu_session(
    ort: Any, path: Path, threads: int, label: str = "ONNX model", blame: Path | None = None
) -> Any:
    """An ONNX Runtime session for ``path`` on the CPU: every graph optimisation, ``threads``
    intra-op threads, one inter-op thread.

    Raises:
        ArtifactError: the file does not load ("cannot load ``label``", naming ``blame``,
            default ``path``).
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unexported exception types
        raise ArtifactError(f"cannot load {label}: {exc}", path=blame or path) from exc


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
    axes = {name: {0: "batch", 1: "seq"} for name in INPUTS}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(),
                (ids, mask, torch.zeros_like(ids)),
                str(tmp),
                dynamo=False,
                input_names=list(INPUTS),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=_OPSET,
            )

    write_atomically(target, write)


def quantize_int8(source: Path, target: Path, isa: str, exclude: Sequence[str] = ()) -> None:
    """Dynamic int8 quantisation: per-channel s8 weights, u8 activations quantised at run time;
    the nodes named in ``exclude`` stay float.

    Raises:
        ArtifactError: onnxruntime's quantiser is missing.
    """
    try:
        quantization = importlib.import_module("onnxruntime.quantization")
    except ImportError as exc:
        raise ArtifactError(MISSING.format(backend="onnx-int8")) from exc

    def write(tmp: Path) -> None:
        quantization.quantize_dynamic(
            source,
            tmp,
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,  # per-tensor scales cost ~0.15 cosine on this model
            reduce_range=isa != "vnni",
            nodes_to_exclude=list(exclude),
        )

    write_atomically(target, write)


@dataclass(frozen=True, slots=True)
class Exporter:
    """How a model's float ONNX file is written from its weights (default: MiniLM through
    torch), the digest of those weights, and the nodes int8 quantisation must leave float."""

    export: Callable[[Path, Path], None] = export_fp32
    digest: Callable[[Path], str] = weights_digest
    keep_float: tuple[str, ...] = ()


MINILM = Exporter()


def ensure_model(
    model_dir: Path, cache: Path, int8: bool, label: str, exporter: Exporter = MINILM
) -> Path:
    """The cached ONNX file for ``model_dir``, exported (and quantised) first if missing.

    Kept in ``cache/<label>-<weights digest>/``: other weights never reuse a stale export.

    Raises:
        ArtifactError: export or quantisation failed, or the cache is not writable.
    """
    folder = cache / f"{label}-{exporter.digest(model_dir)}"
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
            exporter.export(model_dir, fp32)
            steps["export_s"] = round(time.perf_counter() - start, 2)
        if int8:
            start = time.perf_counter()
            quantize_int8(fp32, wanted, isa, exporter.keep_float)
            steps["quantize_s"] = round(time.perf_counter() - start, 2)
        log.info("exported %s to ONNX: %s %s", model_dir, wanted, steps)
        _note(folder, wanted.name, steps)
    except OSError as exc:
        raise ArtifactError(f"cannot write the ONNX cache: {exc}", path=folder) from exc
    except (RuntimeError, ValueError) as exc:  # the tracer or the quantiser gave up
        raise ArtifactError(f"ONNX export failed: {exc}", path=model_dir) from exc
    return wanted


def _note(folder: Path, file: str, steps: dict[str, float]) -> None:
    torch = sys.modules.get("torch")  # the exporter's version, when torch exported it
    path = folder / "export.json"
    try:
        notes = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:  # another replica's note, half written: start over
        notes = {}
    notes[file] = {
        **steps,
        **({"torch": torch.__version__} if torch is not None else {}),
        "onnxruntime": import_onnxruntime("onnx").__version__,
        "opset": _OPSET,
    }
    tmp = path.with_name(f".export-{uuid.uuid4().hex[:8]}.json.tmp")
    tmp.write_text(json.dumps(notes, indent=2) + "\n")
    os.replace(tmp, path)
