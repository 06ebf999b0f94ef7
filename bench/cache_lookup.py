"""Semantic-cache lookup latency and recall vs size, for two kinds of vectors.

    .venv/bin/python bench/cache_lookup.py [--sizes 10000,100000,1000000] [--queries 500]
        [--vectors clustered,random] [--m 32] [--hnsw-after 50000] [--ef-search 32,64] [--keep]

For each size and kind of vectors, one namespace is filled with that many entries (dim 384,
short texts and answers), then ``SemanticCache.lookup()`` — index search, freshness check and
verification — is timed for near-duplicate queries (an entry plus noise, cosine ≈ 0.98).
Their text is the entry's own (the verifier's model is skipped for the same text), or with
``--reworded`` other words for it, so the cross-encoder runs on each candidate it checks
(``[cache] verify_candidates``, 2, at most); ``--verifier lexical`` times the older verifier.

* ``random``: independent random unit vectors. No structure at all, the worst case for HNSW.
* ``clustered``: what a cache of real prompts looks like: each entry is one of ~4,000 real
  prompt embeddings (training/data, the service's encoder) plus Gaussian noise of norm
  ``SPREAD`` (cosine ≈ 0.86 to its prompt, ≈ 0.74 between two entries of one prompt).

recall@1 = share of lookups that return the exact nearest neighbour (a brute-force search over
the same vectors). Below ``hnsw_after`` (10k) the index is exact (flat); above it, HNSW, timed at
each ``--ef-search`` on one build (``--m`` and efConstruction default to CacheConfig's). The
build is one bulk insert (``put_many``) on every core; lookups run on one thread, as served.
Memory per entry = growth of the process's resident memory / n. Writes
bench/results/cache_lookup.json (``--keep``: keeping its rows of the sizes and vectors not run
this time; each row names the command that measured it).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Iterator

import faiss
import numpy as np
from common import RESULTS, TRAIN_FILES, machine, percentile

from router.cache import build_verifier
from router.cache.semantic import Entry, SemanticCache
from router.config.settings import CacheConfig

DIM = 384
SPREAD = 0.6  # norm of the noise around each real prompt (clustered vectors)
QUERY_NOISE = 0.01  # per dimension: a query's cosine to its entry is ≈ 0.98
THRESHOLD = 0.9
WARMUP = 50  # untimed lookups before each timed run


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def prompt_embeddings() -> np.ndarray:
    """The service encoder's embeddings of the real prompts under training/data."""
    from router.config.settings import EncoderConfig
    from router.encoders import build_encoder

    texts = sorted(
        {json.loads(line)["text"] for path in TRAIN_FILES for line in path.open(encoding="utf-8")}
    )
    return unit(np.asarray(build_encoder(EncoderConfig()).encode(texts), np.float32))


def vectors(kind: str, n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    if kind == "random":
        return unit(rng.normal(size=(n, DIM)).astype(np.float32))
    noise = rng.normal(scale=SPREAD / DIM**0.5, size=(n, DIM)).astype(np.float32)
    return unit(centres[rng.integers(0, len(centres), size=n)] + noise)


def text(i: int) -> str:
    return f"question number {i} about topic {i % 977}"


def reworded(i: int) -> str:
    """The same request in other words: the verifier's model has to run (same text skips it)."""
    return f"a question, number {i}, on the topic {i % 977}"


def entries(vecs: np.ndarray) -> Iterator[Entry]:
    now = time.time()
    for i, v in enumerate(vecs):
        answer = {"message": {"role": "assistant", "content": f"answer {i}"}}
        # each entry owns its vector, as one from the encoder does
        yield Entry(f"e{i}", "bench", text(i), v.copy(), answer, "gpt-4o-mini", "economy", now)


def exact_top1(base: np.ndarray, queries: np.ndarray) -> list[int]:
    """Brute force on every core (then back to one thread, as the cache searches)."""
    faiss.omp_set_num_threads(faiss.omp_get_max_threads() or 1)
    try:
        flat = faiss.IndexFlatIP(DIM)
        flat.add(base)
        return [int(i) for i in flat.search(queries, 1)[1][:, 0]]
    finally:
        faiss.omp_set_num_threads(1)


def time_lookups(
    cache: SemanticCache,
    picks: np.ndarray,
    queries: np.ndarray,
    truth: list[int],
    query_text: Callable[[int], str] = text,
) -> dict[str, float]:
    for q in queries[::-1][:WARMUP]:  # page the index in; other texts than the timed ones
        cache.lookup("bench", q, "warm-up", THRESHOLD)
    samples, hits = [], 0
    for i, q, best in zip(picks.tolist(), queries, truth, strict=True):
        t = time.perf_counter()
        found = cache.lookup("bench", q, query_text(i), THRESHOLD, "exhausted")
        samples.append((time.perf_counter() - t) * 1e3)
        hits += found.entry is not None and found.entry.id == f"e{best}"
    return {
        "lookup_p50_ms": round(percentile(samples, 50), 3),
        "lookup_p99_ms": round(percentile(samples, 99), 3),
        "recall_at_1": round(hits / len(truth), 4),
    }


def measure(n: int, kind: str, args: argparse.Namespace, centres: np.ndarray) -> list[dict]:
    rng = np.random.default_rng(n)
    default = CacheConfig()
    config = CacheConfig(
        max_entries=n,
        ttl_s=10**9,
        hnsw_m=args.m or default.hnsw_m,
        hnsw_after=args.hnsw_after or default.hnsw_after,
    )
    config = config.model_copy(update={"verifier": args.verifier})
    cache = SemanticCache(config, DIM, build_verifier(config))
    base = vectors(kind, n, rng, centres)
    gc.collect()
    before, started = rss_bytes(), time.perf_counter()
    cache.put_many(list(entries(base)), replicate=False)
    build_s = time.perf_counter() - started
    gc.collect()
    per_entry = (rss_bytes() - before) / n
    picks = rng.integers(0, n, size=args.queries)
    queries = unit(base[picks] + rng.normal(scale=QUERY_NOISE, size=(len(picks), DIM)))
    truth = exact_top1(base, queries)
    hnsw = n > config.hnsw_after
    row = {"entries": n, "vectors": kind, "index": "hnsw" if hnsw else "flat"}
    if args.reworded:  # rows of the same text keep their place (and their keys) in the file
        row |= {"query_text": "reworded", "verifier": args.verifier}
    row |= {"bytes_per_entry": round(per_entry), "build_s": round(build_s, 1)}
    rows = []
    for ef in args.ef_search if hnsw else [0]:
        if ef:
            cache._indexes["bench"].set_ef_search(ef)
            row |= {"hnsw": f"M={config.hnsw_m} efC={config.hnsw_ef_construction} ef={ef}"}
        query_text = reworded if args.reworded else text
        rows.append(row | time_lookups(cache, picks, queries, truth, query_text))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def command(args: argparse.Namespace) -> str:
    flags = {**vars(args), "ef_search": ",".join(map(str, args.ef_search))}
    return "python bench/cache_lookup.py " + " ".join(
        f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} {v}"
        for k, v in flags.items()
        if k != "keep" and v is not False
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--vectors", default="clustered,random")
    parser.add_argument("--m", type=int, default=0, help="HNSW links per node (0: config's)")
    parser.add_argument("--hnsw-after", type=int, default=0, help="0: the config's")
    parser.add_argument("--keep", action="store_true", help="keep earlier rows not run now")
    parser.add_argument("--ef-search", default=str(CacheConfig().hnsw_ef_search))
    parser.add_argument("--verifier", default="cross", choices=["cross", "lexical"])
    parser.add_argument(
        "--reworded", action="store_true", help="query texts reworded: the model runs per hit"
    )
    args = parser.parse_args()
    args.ef_search = [int(v) for v in args.ef_search.split(",")]
    kinds = args.vectors.split(",")
    centres = prompt_embeddings() if "clustered" in kinds else np.zeros((0, DIM), np.float32)
    rows = [
        row
        for n in (int(s) for s in args.sizes.split(","))
        for kind in kinds
        for row in measure(n, kind, args, centres)
    ]
    write(args, rows, len(centres))


def write(args: argparse.Namespace, rows: list[dict], centres: int) -> None:
    """This run's rows, and with ``--keep`` the earlier rows of sizes × vectors not run now."""
    path = RESULTS / "cache_lookup.json"
    for row in rows:
        row["command"] = command(args)
    if args.keep and path.exists():
        ran = {_order(row) for row in rows}
        earlier = json.loads(path.read_text())["results"]
        rows = sorted([r for r in earlier if _order(r) not in ran] + rows, key=_order)
    out = {
        "machine": machine(),
        "command": command(args),
        "results": rows,
        "note": f"p50 / p99 over --queries single lookups; clustered vectors: {centres} real"
        f" prompt embeddings + noise of norm {SPREAD}; bytes/entry is the growth of resident"
        " memory, an underestimate after the first build in a process (freed pages reused)",
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


def _order(row: dict) -> tuple[int, str, str]:
    return row["entries"], row.get("vectors", "random"), row.get("query_text", "same")


if __name__ == "__main__":
    main()
