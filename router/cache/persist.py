"""Embedded-mode persistence: snapshot the cache to disk, reload it at start.

Layout: ``<path>/entries.jsonl`` (one entry per line, without its vector) and
``<path>/vectors.npy`` (float32, same order). Written to a temporary directory and swapped in
with a rename, so a crash mid-write never leaves a half snapshot.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from router.cache.semantic import Entry, SemanticCache

log = logging.getLogger("semroute.cache")


def save_snapshot(cache: SemanticCache, path: Path) -> int:
    """Write every live entry; returns how many. Raises: OSError."""
    entries = [e for e in cache.entries() if cache.clock() - e.created_at < cache.config.ttl_s]
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with (tmp / "entries.jsonl").open("w", encoding="utf-8") as fh:
        for e in entries:
            meta = e.to_json()
            meta.pop("vector")
            fh.write(json.dumps(meta, ensure_ascii=False) + "\n")
    vectors = np.stack([e.vector for e in entries]) if entries else np.zeros((0, cache.dim))
    np.save(tmp / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return len(entries)


def load_snapshot(cache: SemanticCache, path: Path) -> int:
    """Load a snapshot (skipping expired entries); a missing or unreadable one loads nothing."""
    if not (path / "entries.jsonl").is_file():
        return 0
    try:
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        lines = (path / "entries.jsonl").read_text(encoding="utf-8").splitlines()
        if len(lines) != len(vectors) or (len(vectors) and vectors.shape[1] != cache.dim):
            raise ValueError("entries and vectors do not match")
        entries = [
            Entry.from_json({**json.loads(line), "vector": vector})
            for line, vector in zip(lines, vectors, strict=True)
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cache snapshot at %s not loaded: %s", path, exc)
        return 0
    fresh = [e for e in entries if cache.clock() - e.created_at < cache.config.ttl_s]
    cache.put_many(fresh, replicate=False)  # one index build, not one insert per entry
    return len(fresh)
