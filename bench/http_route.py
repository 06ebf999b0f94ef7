"""HTTP /v1/route throughput and latency from a loopback load generator.

    .venv/bin/python bench/http_route.py [--requests 1000] [--runs 3]

semroute runs as its own process (uvicorn, embedded defaults, mock providers); a bounded
asyncio load generator (httpx, keep-alive) sends distinct real prompts (no repeats, so the
exact-match memo does not flatter the numbers) at concurrency 1, 16 and 64, and stops by
itself. Reports medians over runs of requests/s, p50 and p99. Writes bench/results/http_route.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from common import EVAL_FILES, RESULTS, machine, median, percentile
from loopback import start_semroute

from training.dataset import read_jsonl


def prompts(n: int) -> list[str]:
    texts: list[str] = []
    for path in EVAL_FILES.values():
        if path.exists():
            texts += [e.text for e in read_jsonl(path).examples]
    unique = list(dict.fromkeys(texts))
    # Distinct across runs too: a run number is appended to each prompt.
    return (unique * (n // len(unique) + 1))[:n]


async def load(url: str, texts: list[str], concurrency: int) -> tuple[float, list[float]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for t in texts:
        queue.put_nowait(t)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                text = queue.get_nowait()
                start = time.perf_counter()
                r = await client.post(url + "/v1/route", json={"input": text})
                r.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1e3)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(texts) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    proc, url = start_semroute(None, keys=False)
    results = {}
    try:
        base = prompts(args.requests)
        asyncio.run(load(url, [f"warm-up {t}" for t in base[:50]], 4))
        for c in (1, 16, 64):
            rates, p50, p99 = [], [], []
            for run in range(args.runs):
                n = args.requests if c > 1 else max(100, args.requests // 4)
                texts = [f"{t} ({c}.{run})" for t in base[:n]]
                rate, lat = asyncio.run(load(url, texts, c))
                rates.append(rate)
                p50.append(percentile(lat, 50))
                p99.append(percentile(lat, 99))
            results[f"c{c}"] = {
                "requests_per_s": round(median(rates), 1),
                "p50_ms": round(median(p50), 2),
                "p99_ms": round(median(p99), 2),
            }
            print(f"concurrency {c}: {results[f'c{c}']}", flush=True)
    finally:
        proc.stop()
    out = {
        "machine": machine(),
        "requests": args.requests,
        "runs": args.runs,
        "command": "python bench/http_route.py",
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http_route.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
