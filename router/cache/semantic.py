"""SemanticCache: answers near-duplicate requests from earlier answers — only when it is safe.

Entries live in namespaces (router/cache/namespaces.py), so a hit never crosses tenants, never
changes parameters, and never serves a cheaper model's answer where a better tier was asked for.
A nearest neighbour must clear the tier's cosine threshold *and* pass verification.
TTL is absolute (a hit does not extend it); past ``max_entries`` the least recently used go.
``put_many`` inserts a batch with one index build per namespace (snapshot loads, benchmarks).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from router.cache.index import HnswParams, VectorIndex
from router.config import CacheConfig
from router.encoders import Vectors

NEIGHBOURS = 4


class Verdict(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> str: ...


class Verifier(Protocol):
    def check(
        self, query: str, cached: str, similarity: float, tier: str | None = None
    ) -> Verdict: ...

    def threshold_for(self, tier: str | None) -> float: ...


@dataclass(slots=True)
class Entry:
    id: str
    namespace: str
    text: str  # the context-blended text that was embedded (verification compares these)
    vector: Vectors
    response: dict[str, Any]  # message, finish_reason, usage, model, provider
    model: str
    model_tier: str
    created_at: float
    hits: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "text": self.text,
            "vector": np.asarray(self.vector, np.float32).tolist(),
            "response": self.response,
            "model": self.model,
            "model_tier": self.model_tier,
            "created_at": self.created_at,
            "hits": self.hits,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Entry:
        return cls(**{**raw, "vector": np.asarray(raw["vector"], np.float32)})


@dataclass(frozen=True, slots=True)
class Lookup:
    entry: Entry | None
    similarity: float  # best similarity seen in the namespace (0 when empty)
    refused: tuple[str, ...] = ()  # verification refusals, with reasons
    threshold: float = 0.0


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    refusals: int = 0
    evictions: int = 0
    expirations: int = 0


class SemanticCache:
    """The local cache state (FAISS per namespace + entries); replication plugs in via hooks."""

    def __init__(
        self,
        config: CacheConfig,
        dim: int,
        verifier: Verifier | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.dim = dim
        self.verifier = verifier
        self.clock = clock
        self.stats = CacheStats()
        self._entries: OrderedDict[str, Entry] = OrderedDict()  # LRU order: oldest first
        self._indexes: dict[str, VectorIndex] = {}
        self._int_ids: dict[str, int] = {}
        self._str_ids: dict[int, str] = {}
        self._counter = itertools.count(1)
        self._lock = threading.RLock()
        self.on_insert: list[Callable[[Entry], None]] = []
        self.on_delete: list[Callable[[list[str]], None]] = []
        self.on_hit: list[Callable[[Entry], None]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def namespaces(self) -> dict[str, int]:
        with self._lock:
            return {ns: len(ix) for ns, ix in self._indexes.items() if len(ix)}

    def lookup(
        self, ns: str, vector: Vectors, text: str, threshold: float, tier: str | None = None
    ) -> Lookup:
        """The best entry at or above ``threshold`` that is still fresh and passes verification
        at ``tier`` (the verifier's decision threshold follows it; ``None``: its strictest)."""
        with self._lock:
            index = self._indexes.get(ns)
            found = index.search(vector, NEIGHBOURS) if index is not None else []
        refused: list[str] = []
        verifier = self.verifier if self.config.verify else None
        for int_id, sim in found:
            if sim < threshold or len(refused) >= self.config.verify_candidates:
                break  # best first: no later neighbour clears it (or is worth a model call)
            entry = self._entries.get(self._str_ids.get(int_id, ""))
            if entry is None:
                continue
            if self._expired(entry):
                self.delete([entry.id], reason="expired")
                continue
            if verifier is not None:
                verdict = verifier.check(text, entry.text, sim, tier)
                if not verdict.ok:
                    refused.append(verdict.reason)
                    continue
            self._touch(entry)
            self.stats.hits += 1
            return Lookup(entry, sim, tuple(refused), threshold)
        self.stats.misses += 1
        self.stats.refusals += len(refused)
        return Lookup(None, found[0][1] if found else 0.0, tuple(refused), threshold)

    def _expired(self, entry: Entry) -> bool:
        return self.clock() - entry.created_at >= self.config.ttl_s

    def _touch(self, entry: Entry) -> None:
        with self._lock:
            entry.hits += 1
            if entry.id in self._entries:
                self._entries.move_to_end(entry.id)
        for hook in self.on_hit:
            hook(entry)

    def put(self, entry: Entry, *, replicate: bool = True) -> None:
        """Insert (or replace) an entry; evicts the least recently used past max_entries."""
        self.put_many([entry], replicate=replicate)

    def put_many(self, entries: Sequence[Entry], *, replicate: bool = True) -> None:
        """``put`` each entry in order, with one index insert per namespace (bulk loads)."""
        unique: dict[str, Entry] = {}
        for entry in entries:  # a repeated id counts once, where it was put last
            unique.pop(entry.id, None)
            unique[entry.id] = entry
        batches: dict[str, tuple[list[int], list[Vectors]]] = {}
        with self._lock:
            self._drop([entry_id for entry_id in unique if entry_id in self._entries])
            for entry in unique.values():
                int_id = next(self._counter)
                self._int_ids[entry.id], self._str_ids[int_id] = int_id, entry.id
                self._entries[entry.id] = entry
                ids, vectors = batches.setdefault(entry.namespace, ([], []))
                ids.append(int_id)
                vectors.append(entry.vector)
            for ns, (ids, vectors) in batches.items():
                self._index(ns).add(ids, vectors)
            excess = max(0, len(self) - self.config.max_entries)
            overflow = list(itertools.islice(self._entries, excess))
        if replicate:
            for entry in unique.values():
                for hook in self.on_insert:
                    hook(entry)
        if overflow:
            self.stats.evictions += len(overflow)
            self.delete(overflow, reason="evicted")

    def _index(self, ns: str) -> VectorIndex:
        index = self._indexes.get(ns)
        if index is None:
            c = self.config
            params = HnswParams(c.hnsw_m, c.hnsw_ef_construction, c.hnsw_ef_search)
            index = self._indexes[ns] = VectorIndex(self.dim, c.hnsw_after, params)
        return index

    def delete(
        self, ids: Iterable[str], *, reason: str = "invalidated", replicate: bool = True
    ) -> int:
        with self._lock:
            gone = self._drop(list(ids))
        if reason == "expired":
            self.stats.expirations += len(gone)
        if gone and replicate:
            for hook in self.on_delete:
                hook(gone)
        return len(gone)

    def _drop(self, ids: list[str]) -> list[str]:
        gone = []
        for entry_id in ids:
            entry = self._entries.pop(entry_id, None)
            if entry is None:
                continue
            int_id = self._int_ids.pop(entry_id)
            self._str_ids.pop(int_id, None)
            index = self._indexes.get(entry.namespace)
            if index is not None:
                index.remove([int_id])
            gone.append(entry_id)
        return gone

    def invalidate_namespace(self, ns: str) -> int:
        with self._lock:
            ids = [e.id for e in self._entries.values() if e.namespace == ns]
        return self.delete(ids)

    def clear(self) -> int:
        with self._lock:
            ids = list(self._entries)
        return self.delete(ids)

    def sweep(self) -> int:
        """Drop every expired entry (also done lazily at lookup)."""
        with self._lock:
            stale = [e.id for e in self._entries.values() if self._expired(e)]
        return self.delete(stale, reason="expired")

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries.values())

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)


def new_entry_id() -> str:
    return uuid.uuid4().hex


__all__ = ["Entry", "Lookup", "SemanticCache", "Verifier", "new_entry_id"]
