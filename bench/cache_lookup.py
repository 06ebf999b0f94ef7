"""Semantic-cache lookup latency vs size, and memory per entry.

    .venv/bin/python bench/cache_lookup.py [--sizes 10000,100000,1000000] [--queries 500]

For each size, one namespace is filled with that many entries (random unit vectors, dim 384,
short texts and answers), then SemanticCache.lookup() — FAISS search, freshness check and
verification — is timed for near-duplicate queries. Below ``hnsw_after`` (50k) the index is
exact (flat); above it, HNSW. Memory per entry = growth of the process's resident memory / n.
Writes bench/results/cache_lookup.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import numpy as np
from common import RESULTS, machine, percentile

from router.cache import Entry, SemanticCache
from router.cache_verify import load_verifier
from router.config import CacheConfig

DIM = 384


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def fill(cache: SemanticCache, n: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = time.time()
    for i in range(n):
        cache.put(
            Entry(
                id=f"e{i}",
                namespace="bench",
                text=f"question number {i} about topic {i % 977}",
                vector=vectors[i],
                response={"message": {"role": "assistant", "content": f"answer {i}"}},
                model="gpt-4o-mini",
                model_tier="economy",
                created_at=now,
            ),
            replicate=False,
        )
    return vectors


def measure(n: int, queries: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    config = CacheConfig(max_entries=max(n, 1), ttl_s=10**9)
    cache = SemanticCache(config, DIM, load_verifier())
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    vectors = fill(cache, n, rng)
    build_s = time.perf_counter() - started
    gc.collect()
    per_entry = (rss_bytes() - before) / n
    picks = rng.integers(0, n, size=queries)
    noisy = vectors[picks] + rng.normal(scale=0.01, size=(queries, DIM)).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    samples, hits = [], 0
    for i, q in zip(picks, noisy, strict=True):
        text = f"question number {i} about topic {i % 977}"
        t = time.perf_counter()
        found = cache.lookup("bench", q, text, 0.9)
        samples.append((time.perf_counter() - t) * 1e3)
        hits += found.entry is not None and found.entry.id == f"e{i}"
    return {
        "entries": n,
        "index": "hnsw" if n > config.hnsw_after else "flat",
        "lookup_p50_ms": round(percentile(samples, 50), 3),
        "lookup_p99_ms": round(percentile(samples, 99), 3),
        "recall_at_1": round(hits / queries, 4),
        "bytes_per_entry": round(per_entry),
        "build_s": round(build_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        row = measure(n, args.queries, seed=n)
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = {
        "machine": machine(),
        "command": "python bench/cache_lookup.py",
        "results": rows,
        "note": f"lookup p50 is a median of {args.queries} single lookups",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_lookup.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
