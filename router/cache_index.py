"""Nearest-neighbour search over one namespace's cached prompts (FAISS, inner product).

Vectors are unit length, so inner product is cosine. A namespace starts on an exact flat index
and moves to HNSW once it passes ``hnsw_after`` entries. HNSW cannot delete: removed ids become
tombstones that searches skip, and the index is rebuilt when they pile up.

Searches run on one OpenMP thread (see ``VectorIndex.__init__``); only a bulk insert of at
least ``PARALLEL_ADD_MIN`` vectors (a snapshot load, a rebuild) borrows every core, and gives
them back before it returns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import faiss
import numpy as np

from router.embedding import Vectors

REBUILD_TOMBSTONE_SHARE = 0.2
PARALLEL_ADD_MIN = 10_000  # a batch this large is built on every core


@dataclass(frozen=True, slots=True)
class HnswParams:
    """HNSW shape: ``m`` links per node, candidate lists while building and while searching."""

    m: int = 32
    ef_construction: int = 40
    ef_search: int = 64


@contextmanager
def _all_cores(enabled: bool) -> Iterator[None]:
    """Lend OpenMP every core for one bulk operation, then go back to one thread."""
    if enabled:
        faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


class VectorIndex:
    """One namespace: int64 ids ↔ unit vectors; thread-safe."""

    def __init__(self, dim: int, hnsw_after: int, hnsw: HnswParams | None = None) -> None:
        # One query at a time: OpenMP threads only add spin-waits (measured: flat 10k lookups
        # went from 0.7 ms to 20 ms p50 on a busy 2-core box). The setting is per calling
        # thread, so ``search`` sets it too; concurrency comes from requests, not from inside
        # one search.
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self.hnsw_after = hnsw_after
        self.params = hnsw or HnswParams()
        self._vectors: dict[int, np.ndarray] = {}
        self._tombstones: set[int] = set()
        self._lock = threading.Lock()
        self._graph: faiss.HNSW | None = None  # the HNSW index's graph, once there is one
        self._index = self._flat()
        self.hnsw = False

    def _flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _hnsw(self) -> faiss.Index:
        inner = faiss.IndexHNSWFlat(self.dim, self.params.m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = self.params.ef_construction
        inner.hnsw.efSearch = self.params.ef_search
        self._graph = inner.hnsw
        return faiss.IndexIDMap2(inner)

    def set_ef_search(self, ef_search: int) -> None:
        """Change how many candidates an HNSW search keeps (recall against speed), live."""
        with self._lock:
            self.params = HnswParams(self.params.m, self.params.ef_construction, ef_search)
            if self._graph is not None:
                self._graph.efSearch = ef_search

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, ids: Iterable[int], vectors: Vectors | Sequence[Vectors]) -> None:
        """Insert unit vectors (a 2-D array, or one vector per id: those are kept, not copied)."""
        ids = np.fromiter(ids, dtype=np.int64)
        rows = [np.asarray(v, np.float32).reshape(self.dim) for v in vectors]
        if len(rows) != len(ids):
            raise ValueError(f"{len(ids)} ids for {len(rows)} vectors")
        with self._lock:
            for i, v in zip(ids.tolist(), rows, strict=True):
                self._vectors[i] = v
                self._tombstones.discard(i)
            if not self.hnsw and len(self._vectors) > self.hnsw_after:
                self._rebuild(hnsw=True)
            elif rows:
                with _all_cores(len(ids) >= PARALLEL_ADD_MIN):
                    self._index.add_with_ids(np.stack(rows), ids)

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
            ids = np.fromiter(self._vectors.keys(), dtype=np.int64, count=len(self._vectors))
            with _all_cores(len(ids) >= PARALLEL_ADD_MIN):
                self._index.add_with_ids(np.stack(list(self._vectors.values())), ids)

    def search(self, vector: Vectors, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (id, cosine) pairs, best first."""
        faiss.omp_set_num_threads(1)  # per calling thread (OpenMP): worker threads start at N
        query = np.asarray(vector, np.float32).reshape(1, self.dim)
        with self._lock:
            if not self._vectors:
                return []
            want = min(k + len(self._tombstones), self._index.ntotal)
            sims, ids = self._index.search(query, want)
            hits = zip(ids[0].tolist(), sims[0].tolist(), strict=True)
            if self._tombstones:
                return [(i, s) for i, s in hits if i >= 0 and i not in self._tombstones][:k]
        return [(i, s) for i, s in hits if i >= 0][:k]
