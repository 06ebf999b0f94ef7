"""Nearest-neighbour search over one namespace's cached prompts (FAISS, inner product).

Vectors are unit length, so inner product is cosine. A namespace starts on an exact flat index
and moves to HNSW once it passes ``hnsw_after`` entries. HNSW cannot delete: removed ids become
tombstones that searches skip, and the index is rebuilt when they pile up. A rebuild of at
least ``background_min`` vectors runs in a thread of its own while searches go on against the
old index; changes made meanwhile are replayed onto the new one before it is swapped in.

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

from router.encoders import Vectors

REBUILD_TOMBSTONE_SHARE = 0.2
PARALLEL_ADD_MIN = 10_000  # a batch this large is built on every core
BACKGROUND_MIN = 20_000  # rebuilding this many vectors takes seconds: not under the lock
# A search asks for k plus at most this many extra neighbours to skip tombstones (asking for
# k + every tombstone made HNSW searches of thousands of candidates as deletions piled up).
TOMBSTONE_SLACK = 32


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

    def __init__(
        self,
        dim: int,
        hnsw_after: int,
        hnsw: HnswParams | None = None,
        *,
        background_min: int = BACKGROUND_MIN,
    ) -> None:
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
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.hnsw = False
        self.background_min = background_min
        self._building: threading.Thread | None = None
        self._changes: list[tuple[int, np.ndarray | None]] | None = None  # during a build

    def _new_index(self, hnsw: bool) -> tuple[faiss.Index, faiss.HNSW | None]:
        if not hnsw:
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)), None
        inner = faiss.IndexHNSWFlat(self.dim, self.params.m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = self.params.ef_construction
        inner.hnsw.efSearch = self.params.ef_search
        return faiss.IndexIDMap2(inner), inner.hnsw

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
                if self._changes is not None:
                    self._changes.append((i, v))
            switch = not self.hnsw and len(self._vectors) > self.hnsw_after
            if switch and self._building is None:
                self._rebuild(hnsw=True)
                if self._building is None:
                    return  # rebuilt at once, with these rows
            if rows:  # into the index searched now (and recorded for one being built)
                with _all_cores(len(ids) >= PARALLEL_ADD_MIN):
                    self._index.add_with_ids(np.stack(rows), ids)

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            gone = [i for i in ids if self._vectors.pop(i, None) is not None]
            if not gone:
                return
            if self._changes is not None:
                self._changes.extend((i, None) for i in gone)
            if self.hnsw:
                self._tombstones.update(gone)
                if len(self._tombstones) > REBUILD_TOMBSTONE_SHARE * max(len(self._vectors), 1):
                    self._rebuild(hnsw=True)
            else:
                # the numpy overload is added by faiss at import; its stubs only know IDSelector
                self._index.remove_ids(np.asarray(gone, dtype=np.int64))  # type: ignore[arg-type]

    def _rebuild(self, *, hnsw: bool) -> None:
        """Replace the index with a fresh one of the live vectors (called under the lock)."""
        if self._building is not None:
            return  # one at a time; the next change that needs one starts the next
        ids = np.fromiter(self._vectors.keys(), dtype=np.int64, count=len(self._vectors))
        vectors = list(self._vectors.values())
        if len(ids) < self.background_min:
            self._install(*self._build(hnsw, ids, vectors), hnsw, [])
            return
        self._changes = []
        self._building = threading.Thread(
            target=self._build_and_swap, args=(hnsw, ids, vectors), daemon=True
        )
        self._building.start()

    def _build(
        self, hnsw: bool, ids: np.ndarray, vectors: list[np.ndarray]
    ) -> tuple[faiss.Index, faiss.HNSW | None]:
        index, graph = self._new_index(hnsw)
        if len(ids):
            with _all_cores(len(ids) >= PARALLEL_ADD_MIN):
                index.add_with_ids(np.stack(vectors), ids)
        return index, graph

    def _build_and_swap(self, hnsw: bool, ids: np.ndarray, vectors: list[np.ndarray]) -> None:
        built: tuple[faiss.Index, faiss.HNSW | None] | None = None
        try:
            built = self._build(hnsw, ids, vectors)
        finally:  # failed or not, stop recording; swap in one step with the replay
            with self._lock:
                changes, self._changes, self._building = self._changes or [], None, None
                if built is not None:
                    self._install(*built, hnsw, changes)

    def _install(
        self,
        index: faiss.Index,
        graph: faiss.HNSW | None,
        hnsw: bool,
        changes: list[tuple[int, np.ndarray | None]],
    ) -> None:
        """Swap ``index`` in after replaying ``changes`` made while it was built (under lock)."""
        removed = {i for i, v in changes if v is None}
        added = [(i, v) for i, v in changes if v is not None and i not in removed]
        if added:
            rows = np.stack([v for _, v in added])
            index.add_with_ids(rows, np.asarray([i for i, _ in added], dtype=np.int64))
        self._tombstones = removed if hnsw else set()
        if removed and not hnsw:
            index.remove_ids(np.asarray(sorted(removed), dtype=np.int64))  # type: ignore[arg-type]
        self._index, self._graph, self.hnsw = index, graph, hnsw
        if graph is not None:
            graph.efSearch = self.params.ef_search

    def wait_for_rebuild(self, timeout: float | None = None) -> None:
        """Block until a background rebuild (if one runs) has been swapped in."""
        building = self._building
        if building is not None:
            building.join(timeout)

    def search(self, vector: Vectors, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (id, cosine) pairs, best first."""
        faiss.omp_set_num_threads(1)  # per calling thread (OpenMP): worker threads start at N
        query = np.asarray(vector, np.float32).reshape(1, self.dim)
        with self._lock:
            if not self._vectors:
                return []
            want = min(k + min(len(self._tombstones), TOMBSTONE_SLACK), self._index.ntotal)
            sims, ids = self._index.search(query, want)
            hits = zip(ids[0].tolist(), sims[0].tolist(), strict=True)
            if self._tombstones:
                return [(i, s) for i, s in hits if i >= 0 and i not in self._tombstones][:k]
        return [(i, s) for i, s in hits if i >= 0][:k]
