"""In-process routing latency and batch throughput with the real encoder.

    .venv/bin/python bench/route_latency.py [--runs 3]

single: Router.route() on one request at a time (embed + classify + select), p50/p99 over
the 200 prompts of the realistic held-out set (real user prompts, varied lengths), median over
runs; the embedding memo is off (every prompt embedded) except in the "exact repeat" row.
Rows: the default configuration (the static first stage, the transformer when it is unsure),
its transformer alone, torch alone. batch: the same prompts classified in one call → prompts/s.
Writes bench/results/route_latency.json.
"""

from __future__ import annotations

import argparse
import json
import time

import anyio
from common import EVAL_FILES, RESULTS, machine, median, percentile, route_each

from router import Router
from router.classify.cascade import build_first_stage
from router.config.settings import Config, load_config
from router.encoders import build_encoder
from training.dataset import read_jsonl
from training.evaluate import classify_texts


def batch(router: Router, texts: list[str]) -> float:
    """Prompts/s classifying ``texts`` in one call (through the first stage when there is one)."""
    start = time.perf_counter()
    classify_texts(texts, router.encoder, router.centroids, router.first_stage, progress=False)
    return len(texts) / (time.perf_counter() - start)


def configured(base: Config, backend: str, cascade: bool, memo: int) -> Router:
    encoder = base.encoder.model_copy(
        update={
            "backend": backend,
            "memo_entries": memo,
            "cascade": base.encoder.cascade.model_copy(update={"enabled": cascade}),
        }
    )
    config = base.model_copy(update={"encoder": encoder})
    return Router.from_config(
        config, build_encoder(config.encoder), first_stage=build_first_stage(config)
    )


def measure(router: Router, texts: list[str], runs: int, repeat: bool) -> dict[str, float]:
    anyio.run(route_each, router, texts[:20])  # warm-up (and, with the memo on, the first sight)
    if repeat:
        anyio.run(route_each, router, texts)
    p50s, p99s, rates = [], [], []
    for _ in range(runs):
        samples = anyio.run(route_each, router, texts)
        p50s.append(percentile(samples, 50))
        p99s.append(percentile(samples, 99))
        rates.append(batch(router, texts))
    return {
        "single_p50_ms": round(median(p50s), 3),
        "single_p99_ms": round(median(p99s), 3),
        "batch_prompts_per_s": round(median(rates), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = load_config()
    texts = [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples]
    default = f"default: cascade static → {base.encoder.backend}"
    rows = {
        default: (base.encoder.backend, True, 0, False),
        f"{base.encoder.backend} alone": (base.encoder.backend, False, 0, False),
        "torch alone": ("torch", False, 0, False),
        "exact repeat (embedding memo hit)": (base.encoder.backend, True, 10_000, True),
    }
    results = {}
    for name, (backend, cascade, memo, repeat) in rows.items():
        results[name] = measure(configured(base, backend, cascade, memo), texts, args.runs, repeat)
        print(name, results[name], flush=True)
    result = {
        "machine": machine(),
        "queries": len(texts),
        "runs": args.runs,
        "rows": results,
        "command": "python bench/route_latency.py",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "route_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
