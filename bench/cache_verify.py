"""What verifying one cache candidate costs: the cross-encoder check against the lexical one.

    .venv/bin/python bench/cache_verify.py [--rounds 3]

Pairs are the written held-out set (training/data/cache_traps.jsonl, short prompts in seven
languages) and the langcache pairs (MIT, ../shared/data/cache/), each timed as served: one
``check`` per candidate on one thread, after a warm-up. ``model`` times the cross-encoder
alone (tokenise + int8 ONNX run); ``check`` adds the exact guards in front (a pair they refuse
never reaches the model, which makes its check cheaper). A cache lookup pays the index search
(bench/cache_lookup.py: 0.30 ms p50 at 1M entries) plus one check per candidate above the
tier's retrieval cosine. Writes bench/results/cache_verify.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from common import RESULTS, ROOT, SHARED, machine, percentile

from router.cache import load_cross_verifier, load_verifier

FILES = {
    "traps": ROOT / "training/data/cache_traps.jsonl",
    "langcache": SHARED / "cache/langcache_example_llm.jsonl",
}


def pairs() -> list[tuple[str, str]]:
    out = []
    for path in FILES.values():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.append((row["b"], row["a"]))
    return out


def timed(fn: Callable[[str, str], object], rows: list[tuple[str, str]], rounds: int) -> dict:
    for q, c in rows[:50]:
        fn(q, c)
    samples = []
    for _ in range(rounds):
        for q, c in rows:
            t = time.perf_counter()
            fn(q, c)
            samples.append((time.perf_counter() - t) * 1e3)
    return {
        "p50_ms": round(percentile(samples, 50), 3),
        "p95_ms": round(percentile(samples, 95), 3),
        "p99_ms": round(percentile(samples, 99), 3),
        "n": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = pairs()
    cross, lexical = load_cross_verifier(), load_verifier()
    results = {
        "cross_model": timed(cross.scorer.probability, rows, args.rounds),
        "cross_check": timed(lambda q, c: cross.check(q, c, 0.9, "quality"), rows, args.rounds),
        "lexical_check": timed(lambda q, c: lexical.check(q, c, 0.9), rows, args.rounds),
    }
    for name, row in results.items():
        print(name, json.dumps(row))
    out = {
        "machine": machine(),
        "command": f"python bench/cache_verify.py --rounds {args.rounds}",
        "pairs": len(rows),
        "results": results,
        "note": "one check per call on one thread (the cross-encoder runs one row per call)",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_verify.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
