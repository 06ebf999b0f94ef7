"""Files built from the local model at first use (ONNX exports, the distilled static model):
where they live, what they are keyed by, and how they are written so that replicas starting
together never read half a file."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from router.config import PROJECT_ROOT


def project_path(path: Path) -> Path:
    """A configured path; relative ones are taken from the project root."""
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


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


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename ``tmp`` → ``target`` (a file or a directory)."""
    tmp = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
