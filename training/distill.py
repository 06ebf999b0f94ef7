"""Distilling static embeddings from a local sentence-transformers model with model2vec
(offline): every vocabulary token through the transformer once (~1 min on 2 cores), PCA to
``dims``, SIF weights by token rank. ``distill.json`` beside the output records the source
weights, the settings and the output digest. Seeded and deterministic on one machine; the
floats differ from CPU to CPU, which is why the result is shipped (router/encoders/static_model.py).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from router.encoders import weights_digest
from router.errors import ArtifactError

SIF_COEFFICIENT = 1e-4
SEED = 0
DIMS = 256


def distill(
    model_dir: Path, out: Path, dims: int = DIMS, name: str = "all-MiniLM-L6-v2"
) -> dict[str, Any]:
    """Distil ``model_dir`` (a local sentence-transformers / transformers model) into ``out``.

    ``name`` is the source model's name, recorded instead of its machine-specific path.

    Returns the provenance written to ``out/distill.json``.

    Raises:
        ArtifactError: model2vec (with skeletoken) is missing or the model cannot be loaded.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel, AutoTokenizer

    try:
        m2v = importlib.import_module("model2vec.distill")
    except ImportError as exc:
        raise ArtifactError(
            "distillation needs model2vec and skeletoken: pip install model2vec skeletoken"
        ) from exc
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load model to distil: {exc}", path=model_dir) from exc
    start = time.perf_counter()
    static = m2v.distill_from_model(
        model, tokenizer, device="cpu", pca_dims=dims, sif_coefficient=SIF_COEFFICIENT
    )
    seconds = round(time.perf_counter() - start, 1)
    static.config["tokenizer_name"] = name
    out.mkdir(parents=True, exist_ok=True)
    static.save_pretrained(str(out), model_name=f"{name}-static-m2v-{dims}")
    provenance = {
        "source": name,
        "source_digest": weights_digest(model_dir),
        "dims": dims,
        "sif_coefficient": SIF_COEFFICIENT,
        "vocabulary": int(static.embedding.shape[0]),
        "model2vec": importlib.import_module("model2vec").__version__,
        "torch": torch.__version__,
        "seconds": seconds,
        "sha256": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest(),
    }
    (out / "distill.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance
