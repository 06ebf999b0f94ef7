"""Nearest-neighbour search over one namespace's cached prompts (FAISS, inner product).

Vectors are unit length, so inner product is cosine. A namespace starts on an exact flat index
and moves to HNSW once it passes ``hnsw_after`` entries. HNSW cannot delete: removed ids become
tombstones that searches skip, and the index is rebuilt when they pile up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import faiss
import numpy as np

from router.embedding import Vectors

HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 64
REBUILD_TOMBSTONE_SHARE = 0.2


class VectorIndex:
    """One namespace: int64 ids ↔ unit vectors; thread-safe."""

    def __init__(self, dim: int, hnsw_after: int) -> None:
        # One query at a time: OpenMP threads only add spin-waits (measured: flat 10k lookups
        # went from 0.7 ms to 20 ms p50 on a busy 2-core box). Process-wide, and harmless here:
        # concurrency comes from requests, not from inside one search.
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self.hnsw_after = hnsw_after
        self._vectors: dict[int, np.ndarray] = {}
        self._tombstones: set[int] = set()
        self._lock = threading.Lock()
        self._index = self._flat()
        self.hnsw = False

    def _flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _hnsw(self) -> faiss.Index:
        inner = faiss.IndexHNSWFlat(self.dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(inner)

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, ids: Iterable[int], vectors: Vectors) -> None:
        ids = np.fromiter(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            for i, v in zip(ids.tolist(), vectors, strict=True):
                self._vectors[i] = v
                self._tombstones.discard(i)
            if not self.hnsw and len(self._vectors) > self.hnsw_after:
                self._rebuild(hnsw=True)
            else:
                self._index.add_with_ids(vectors, ids)

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            gone = [i for i in ids if self._vectors.pop(i, None) is not None]
            if not gone:
                return
            if self.hnsw:
                self._tombstones.update(gone)
                if len(self._tombstones) > REBUILD_TOMBSTONE_SHARE * max(len(self._vectors), 1):
                    self._rebuild(hnsw=True)
            else:
                # the numpy overload is added by faiss at import; its stubs only know IDSelector
                self._index.remove_ids(np.asarray(gone, dtype=np.int64))  # type: ignore[arg-type]

    def _rebuild(self, *, hnsw: bool) -> None:
        self._index = self._hnsw() if hnsw else self._flat()
        self.hnsw = hnsw
        self._tombstones.clear()
        if self._vectors:
            ids = np.fromiter(self._vectors.keys(), dtype=np.int64)
            self._index.add_with_ids(np.stack(list(self._vectors.values())), ids)

    def search(self, vector: Vectors, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (id, cosine) pairs, best first."""
        with self._lock:
            if not self._vectors:
                return []
            want = min(k + len(self._tombstones), self._index.ntotal)
            sims, ids = self._index.search(np.asarray(vector, np.float32).reshape(1, -1), want)
        hits = [
            (int(i), float(s))
            for i, s in zip(ids[0], sims[0], strict=True)
            if i >= 0 and int(i) not in self._tombstones
        ]
        return hits[:k]
