"""Distilling static embeddings from the local all-MiniLM-L6-v2 with model2vec (offline,
deterministic): the model ``[encoder] backend = "static"`` and the cascade's first stage load.

Every vocabulary token is passed through the transformer once (~1 min on 2 cores), the token
vectors are PCA-reduced and SIF-weighted by token rank. The same model and settings give the
same bytes, so centroids fitted on one machine hold on another; ``distill.json`` beside the
model records the source weights, the settings and the output digest.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from router.config import EncoderConfig
from router.encoders.artifacts import weights_digest, write_atomically
from router.encoders.base import bundled_model_path
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")

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


def ensure_static_model(config: EncoderConfig, path: Path) -> None:
    """Distil the static model into ``path`` if it is not there yet (written atomically).

    Raises:
        ArtifactError: distillation failed or ``path`` is not writable.
    """
    if (path / "model.safetensors").is_file():
        return
    source = config.model_path or bundled_model_path()
    log.warning(
        "static model missing at %s: distilling it from %s (about a minute, once)", path, source
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda tmp: _distill_into(source, tmp, config.name))
    except OSError as exc:
        if (path / "model.safetensors").is_file():  # another replica finished first
            return
        raise ArtifactError(f"cannot write the static model: {exc}", path=path) from exc


def _distill_into(source: Path, tmp: Path, name: str) -> None:
    """Distil in a child process: it seeds torch's RNGs, switches on deterministic algorithms
    and loads transformers, none of which a serving process should keep.

    Raises:
        ArtifactError: the child failed (the end of its error output says why).
    """
    command = [sys.executable, "-m", "router.encoders.static_distill", str(source), str(tmp), name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ArtifactError(f"static model distillation failed: {tail}", path=source)


if __name__ == "__main__":  # the child of _distill_into: SOURCE OUT NAME
    distill(Path(sys.argv[1]), Path(sys.argv[2]), DIMS, sys.argv[3])
