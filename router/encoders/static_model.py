"""The static model as the project ships it: an int8 token table with one scale per token, the
tokenizer, and a manifest with the table's digest.

Distillation (training/distill.py) runs the transformer over every vocabulary token; its
float output depends on the CPU's floating-point paths, so a model distilled on one machine is
never byte-identical to one distilled on another, and centroids fitted on one would not be
checkable against the other. The distilled table is therefore built once, quantised (7.6 MB
instead of 30 MB, cosine ≥ 0.9995 per token to the float table) and shipped in
``router/encoders/data/static/``; every machine loads the same bytes. Dequantising is one
multiply per element, which IEEE 754 makes exact on every CPU.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router.encoders.artifacts import write_atomically
from router.errors import ArtifactError

SHIPPED_STATIC_DIR = Path(__file__).resolve().parent / "data" / "static" / "minilm-m2v-256"
TABLE_FILE = "table.npy"  # int8, one row per token
SCALE_FILE = "scale.npy"  # float32, one per token
MANIFEST_FILE = "static.json"
TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True, slots=True)
class StaticTable:
    """What the static encoder needs: float32 token vectors and the tokenizer over them."""

    table: np.ndarray[Any, np.dtype[np.float32]]
    tokenizer: Any  # tokenizers.Tokenizer (no type information)
    unk_id: int | None
    digest: str  # sha256 of the file the table was read from


def is_shipped_format(path: Path) -> bool:
    return (path / TABLE_FILE).is_file()


def file_digest(*paths: Path) -> str:
    """sha256 of the files' bytes, one after the other, read in blocks."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def model_digest(path: Path) -> str:
    """The digest centroids record for a static model directory (either format).

    Raises:
        ArtifactError: the directory holds no static model.
    """
    if is_shipped_format(path):
        return file_digest(path / TABLE_FILE, path / SCALE_FILE)
    if (path / "model.safetensors").is_file():
        return file_digest(path / "model.safetensors")
    raise ArtifactError("no static model here", path=path)


def load_table(path: Path) -> StaticTable:
    """Read a shipped-format static model and check its digest against its manifest.

    Raises:
        ArtifactError: a file is missing or unreadable, or the table is not the one the
            manifest names (a damaged or hand-edited copy).
    """
    from tokenizers import Tokenizer

    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text())
        digest = model_digest(path)
        quantised = np.load(path / TABLE_FILE)
        scale = np.load(path / SCALE_FILE)
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
    except Exception as exc:  # tokenizers raises bare Exceptions for unreadable files
        raise ArtifactError(f"cannot read the static model: {exc}", path=path) from exc
    if manifest.get("sha256") != digest:
        raise ArtifactError(
            f"static model table {digest[:12]}… is not the one its manifest names "
            f"({str(manifest.get('sha256'))[:12]}…): restore it from the repository",
            path=path,
        )
    table = quantised.astype(np.float32) * scale.astype(np.float32)[:, None]
    unk = tokenizer.token_to_id("[UNK]")
    return StaticTable(table, tokenizer, unk, digest)


def quantise(table: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Symmetric int8 per row: ``table ≈ q * scale[:, None]``."""
    table = np.asarray(table, dtype=np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def ship(model2vec_dir: Path, out: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """Write a model2vec directory's table in the shipped format into ``out``.

    Returns the manifest written beside it.

    Raises:
        ArtifactError: the source has no plain float table.
    """
    from safetensors.numpy import load_file

    try:
        table = load_file(str(model2vec_dir / "model.safetensors"))["embeddings"]
    except (OSError, KeyError) as exc:
        raise ArtifactError(f"no float token table to ship: {exc}", path=model2vec_dir) from exc
    return write_table(out, table, model2vec_dir / TOKENIZER_FILE, provenance)


def write_table(
    out: Path, table: np.ndarray[Any, Any], tokenizer: Path, provenance: dict[str, Any]
) -> dict[str, Any]:
    """Quantise ``table`` and write it with ``tokenizer`` and a manifest into ``out``
    (atomically, replacing what is there). Returns the manifest."""
    q, scale = quantise(table)
    manifest: dict[str, Any] = {**provenance, "quantisation": "int8 per token, float32 scale"}

    def write(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        np.save(tmp / TABLE_FILE, q)  # .npy: a fixed header and the raw array, no timestamps
        np.save(tmp / SCALE_FILE, scale)
        shutil.copyfile(tokenizer, tmp / TOKENIZER_FILE)
        manifest["sha256"] = model_digest(tmp)
        manifest["vocabulary"], manifest["dims"] = int(q.shape[0]), int(q.shape[1])
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        shutil.rmtree(out)
    write_atomically(out, write)
    return manifest
