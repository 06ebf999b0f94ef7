"""Latency semroute adds in front of an upstream, vs calling that upstream directly.

    .venv/bin/python bench/proxy_overhead.py [--requests 300] [--runs 3] [--concurrency 1 16]

A minimal OpenAI-format upstream and semroute each run as their own process on loopback;
the load generator (httpx, keep-alive) sends the same chat request directly, through semroute
with a fixed model (no routing), and through semroute with model=auto (embedding + routing),
at concurrency 1 and 16. Reports medians over runs of p50/p99 per scenario and the overhead.
Writes bench/results/proxy_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
from common import RESULTS, ROOT, machine, median, percentile
from loopback import semroute_config, start_semroute, start_upstream

PROMPT = "Write a Python function that checks whether a string is a palindrome."


async def load(url: str, model: str, n: int, concurrency: int) -> list[float]:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                start = time.perf_counter()
                resp = await client.post(url + "/v1/chat/completions", json=body)
                resp.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1e3)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def scenario(url: str, model: str, n: int, concurrency: int, runs: int) -> dict[str, float]:
    asyncio.run(load(url, model, 20, concurrency))  # warm-up
    p50, p99 = [], []
    for _ in range(runs):
        samples = asyncio.run(load(url, model, n, concurrency))
        p50.append(percentile(samples, 50))
        p99.append(percentile(samples, 99))
    return {"p50_ms": round(median(p50), 2), "p99_ms": round(median(p99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        upstream, upstream_url = start_upstream(Path(tmp))
        semroute, semroute_url = start_semroute(semroute_config(upstream_url, ROOT))
        try:
            results: dict[str, dict[str, dict[str, float]]] = {}
            for c in args.concurrency:
                n = args.requests if c == 1 else args.requests * 2
                results[f"c{c}"] = {
                    "direct": scenario(upstream_url, "bench", n, c, args.runs),
                    "semroute_fixed_model": scenario(semroute_url, "gpt-4o-mini", n, c, args.runs),
                    "semroute_auto": scenario(semroute_url, "auto", n, c, args.runs),
                }
                r = results[f"c{c}"]
                r["overhead"] = {
                    "fixed_p50_ms": round(
                        r["semroute_fixed_model"]["p50_ms"] - r["direct"]["p50_ms"], 2
                    ),
                    "auto_p50_ms": round(r["semroute_auto"]["p50_ms"] - r["direct"]["p50_ms"], 2),
                }
                print(f"concurrency {c}: {json.dumps(r)}", flush=True)
        finally:
            semroute.stop()
            upstream.stop()
    out = {
        "machine": machine(),
        "requests": args.requests,
        "runs": args.runs,
        "command": "python bench/proxy_overhead.py",
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "proxy_overhead.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
