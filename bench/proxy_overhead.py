"""Latency semroute adds in front of an upstream, vs calling that upstream directly.

    .venv/bin/python bench/proxy_overhead.py [--requests 300] [--runs 3] [--concurrency 1 16]

A minimal OpenAI-format upstream, semroute and the LiteLLM proxy (when it installs:
bench/litellm_peer.py) each run as their own process on loopback; the load generator (httpx,
keep-alive) sends a chat request directly, through LiteLLM, through semroute with a fixed model
(no routing), with model=auto and one prompt again and again (after the first, the embedding
memo answers: the cost of the static stage and selection), and with model=auto and distinct
real prompts (the mixed set of bench/http_route.py: what the encoders cost on prompts they
have not seen, long and non-English ones included), at concurrency 1 and 16. Reports medians
over runs of p50/p99 per scenario, each one's overhead over the direct call, and LiteLLM's
overhead over semroute's (the ratio, from one run). Writes bench/results/proxy_overhead.json.
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
from http_route import prompts
from litellm_peer import VERSION, ensure_installed, start_litellm
from loopback import semroute_config, start_semroute, start_upstream

PROMPT = "Write a Python function that checks whether a string is a palindrome."


async def load(
    url: str, model: str, n: int, concurrency: int, texts: list[str] | None = None
) -> list[float]:
    """Latencies (ms) of ``n`` requests; ``texts`` given: request i asks texts[i] (else PROMPT)."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                text = texts[i % len(texts)] if texts else PROMPT
                body = {"model": model, "messages": [{"role": "user", "content": text}]}
                start = time.perf_counter()
                resp = await client.post(url + "/v1/chat/completions", json=body)
                resp.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1e3)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def scenario(
    url: str, model: str, n: int, concurrency: int, runs: int, distinct: bool = False
) -> dict[str, float]:
    """Medians over ``runs``; ``distinct``: no prompt is sent twice, in any run."""
    asyncio.run(load(url, model, 20, concurrency))  # warm-up
    p50, p99 = [], []
    for run in range(runs):
        texts = [f"{t} (c{concurrency}.{run})" for t in prompts(n)] if distinct else None
        samples = asyncio.run(load(url, model, n, concurrency, texts))
        p50.append(percentile(samples, 50))
        p99.append(percentile(samples, 99))
    return {"p50_ms": round(median(p50), 2), "p99_ms": round(median(p99), 2)}


def overheads(r: dict[str, dict[str, float]]) -> dict[str, float]:
    """p50 beyond the direct call per scenario; LiteLLM's over semroute's where measured."""
    direct = r["direct"]["p50_ms"]
    names = {
        "fixed_p50_ms": "semroute_fixed_model",
        "auto_p50_ms": "semroute_auto",
        "auto_distinct_p50_ms": "semroute_auto_distinct",
        "litellm_p50_ms": "litellm",
    }
    out = {k: round(r[v]["p50_ms"] - direct, 2) for k, v in names.items() if v in r}
    if "litellm_p50_ms" in out:
        for mine in ("fixed", "auto", "auto_distinct"):
            ours = out[f"{mine}_p50_ms"]
            out[f"litellm_over_{mine}"] = round(out["litellm_p50_ms"] / ours, 1) if ours > 0 else 0
    return out


def _measure_litellm(
    upstream_url: str, workdir: Path, args: argparse.Namespace, results: dict[str, Any]
) -> str | None:
    """LiteLLM's scenario at each concurrency into ``results``; why not, if it did not start."""
    try:
        litellm, litellm_url = start_litellm(upstream_url, workdir)
    except RuntimeError as exc:
        return f"litellm did not start: {exc}"
    try:
        for c in args.concurrency:
            n = args.requests if c == 1 else args.requests * 2
            results[f"c{c}"]["litellm"] = scenario(litellm_url, "bench", n, c, args.runs)
    finally:
        litellm.stop()
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    peer_note = ensure_installed()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        upstream, upstream_url = start_upstream(Path(tmp))
        try:
            semroute, semroute_url = start_semroute(semroute_config(upstream_url, ROOT))
            try:
                for c in args.concurrency:
                    n = args.requests if c == 1 else args.requests * 2
                    results[f"c{c}"] = {
                        "direct": scenario(upstream_url, "bench", n, c, args.runs),
                        "semroute_fixed_model": scenario(
                            semroute_url, "gpt-4o-mini", n, c, args.runs
                        ),
                        "semroute_auto": scenario(semroute_url, "auto", n, c, args.runs),
                        "semroute_auto_distinct": scenario(
                            semroute_url, "auto", n, c, args.runs, distinct=True
                        ),
                    }
            finally:
                semroute.stop()
            # LiteLLM alone beside the upstream (an idle proxy still runs its own tasks).
            if peer_note is None:
                peer_note = _measure_litellm(upstream_url, Path(tmp), args, results)
        finally:
            upstream.stop()
    for c, r in results.items():
        r["overhead"] = overheads(r)
        print(f"concurrency {c[1:]}: {json.dumps(r)}", flush=True)
    out = {
        "machine": machine(),
        "requests": args.requests,
        "runs": args.runs,
        "command": "python bench/proxy_overhead.py",
        "litellm": f"litellm[proxy]=={VERSION}" if peer_note is None else peer_note,
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "proxy_overhead.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
