"""In-process routing latency and batch throughput with the real encoder.

    .venv/bin/python bench/route_latency.py [--queries 300] [--runs 3]

single: Router.route() on one request at a time (embed + classify + select), p50/p99 over
the queries, median over runs. batch: encode + classify 256 prompts in one call → prompts/s.
Prompts are the realistic held-out set (real user prompts, varied lengths).
Writes bench/results/route_latency.json.
"""

from __future__ import annotations

import argparse
import json
import time

import anyio
from common import EVAL_FILES, RESULTS, machine, median, percentile

from router.config import load_config
from router.core import Router
from router.embedding import SentenceTransformerEncoder
from router.types import ChatRequest, Message
from training.dataset import read_jsonl


async def single(router: Router, texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        request = ChatRequest(messages=(Message(role="user", content=text),))
        start = time.perf_counter()
        await router.route(request)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def batch(router: Router, texts: list[str]) -> float:
    start = time.perf_counter()
    prepared = [router.encoder.fit_window(t)[0] for t in texts]
    router.centroids.classify(router.encoder.encode(prepared))
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    config = load_config()
    router = Router.from_config(config, SentenceTransformerEncoder(config.encoder))
    texts = [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples]
    texts = (texts * (args.queries // len(texts) + 1))[: args.queries]
    anyio.run(single, router, texts[:20])  # warm-up
    p50s, p99s, rates = [], [], []
    for _ in range(args.runs):
        samples = anyio.run(single, router, texts)
        p50s.append(percentile(samples, 50))
        p99s.append(percentile(samples, 99))
        rates.append(batch(router, texts[:256]))
    result = {
        "machine": machine(),
        "backend": config.encoder.backend,
        "queries": args.queries,
        "runs": args.runs,
        "single_p50_ms": round(median(p50s), 2),
        "single_p99_ms": round(median(p99s), 2),
        "batch_prompts_per_s": round(median(rates), 1),
        "command": "python bench/route_latency.py",
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "route_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
