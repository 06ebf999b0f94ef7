"""Exact-match fast path: embeddings of texts already seen, keyed by a hash of the exact
strings that would be embedded (after window fitting), so a repeated request skips the
encoder entirely. The key includes the blend weight: the same last message in another
conversation is a different key."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from router.encoders.base import Vectors


def memo_key(texts: Sequence[str], weight: float) -> str:
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    h.update(repr(round(weight, 6)).encode())
    return h.hexdigest()


class EmbeddingMemo:
    """A bounded LRU of blended vectors; ``capacity`` 0 disables it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Vectors | None:
        if not self.capacity:
            return None
        with self._lock:
            vector = self._items.get(key)
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return vector

    def put(self, key: str, vector: Vectors) -> None:
        if not self.capacity:
            return
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
