"""Fakes at seams: a deterministic bag-of-words encoder for fast unit tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from router.encoders import Vectors, normalise

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of hashed words → unit vector. Similar wording → similar vectors, no model needed."""

    def __init__(
        self, dim: int = 1024, name: str = "hashing-test", window_chars: int = 2000
    ) -> None:
        self._dim = dim
        self._name = name
        self.window_chars = window_chars
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[i, h % self._dim] += 1.0
        return normalise(out)

    def fit_window(self, text: str) -> tuple[str, bool]:
        if len(text) <= self.window_chars:
            return text, False
        half = self.window_chars // 2
        return f"{text[:half]} … {text[-half:]}", True
