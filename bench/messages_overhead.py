"""What the Anthropic Messages API costs over the OpenAI one: the same chat through
/v1/chat/completions and /v1/messages, both to the same OpenAI-format upstream.

    .venv/bin/python bench/messages_overhead.py [--requests 300] [--runs 3]

A minimal OpenAI-format upstream and semroute each run as their own process on loopback (as in
proxy_overhead.py); the load generator (httpx, keep-alive, concurrency 1) sends the same
request directly, through /v1/chat/completions and through /v1/messages (converted to the
internal request, answered by the OpenAI upstream, converted back), with a fixed model (no
routing). Reports medians over runs of p50/p99 and the difference. Writes
bench/results/messages_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS, ROOT, machine, median, percentile
from loopback import semroute_config, start_semroute, start_upstream

PROMPT = "Write a Python function that checks whether a string is a palindrome."
MESSAGES = [{"role": "user", "content": PROMPT}]


async def load(url: str, body: dict[str, Any], n: int) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(n):
            start = time.perf_counter()
            resp = await client.post(url, json=body)
            resp.raise_for_status()
            latencies.append((time.perf_counter() - start) * 1e3)
    return latencies


def scenarios(urls: dict[str, str], body: dict[str, Any], n: int, runs: int) -> dict[str, Any]:
    """p50/p99 per scenario, medians over runs; the scenarios take turns within each run, so
    that a busy moment of the machine does not fall on one of them only."""
    for url in urls.values():
        asyncio.run(load(url, body, 20))  # warm-up
    p50: dict[str, list[float]] = {name: [] for name in urls}
    p99: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(runs):
        for name, url in urls.items():
            samples = asyncio.run(load(url, body, n))
            p50[name].append(percentile(samples, 50))
            p99[name].append(percentile(samples, 99))
    return {
        name: {"p50_ms": round(median(p50[name]), 2), "p99_ms": round(median(p99[name]), 2)}
        for name in urls
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n, runs = args.requests, args.runs
    with tempfile.TemporaryDirectory() as tmp:
        upstream, upstream_url = start_upstream(Path(tmp))
        semroute, url = start_semroute(semroute_config(upstream_url, ROOT))
        try:
            chat = {"model": "gpt-4o-mini", "max_tokens": 256, "messages": MESSAGES}
            urls = {
                "direct": upstream_url + "/v1/chat/completions",
                "chat_completions": url + "/v1/chat/completions",
                "messages": url + "/v1/messages",
            }
            results = scenarios(urls, chat, n, runs)
        finally:
            semroute.stop()
            upstream.stop()
    results["messages_minus_chat_p50_ms"] = {
        "value": round(results["messages"]["p50_ms"] - results["chat_completions"]["p50_ms"], 2)
    }
    print(json.dumps(results), flush=True)
    out = {
        "machine": machine(),
        "requests": n,
        "runs": runs,
        "command": "python bench/messages_overhead.py",
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "messages_overhead.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
