"""Many clients at once on every routing endpoint: errors and latency under a mixed load.

    .venv/bin/python bench/mixed_load.py [--requests 2000] [--concurrency 64] [--url URL]

semroute runs as its own process in mock mode (embedded defaults, no provider key) unless
``--url`` names one already running. A bounded asyncio load generator (``--concurrency``
clients, keep-alive) sends ``--requests`` distinct prompts, taking turns between
/v1/chat/completions, the same streamed, /v1/messages, the same streamed, and /v1/route, and
stops by itself. A request counts as an error unless it is a 200 and, streamed, ends as a
finished stream (``[DONE]`` or ``message_stop``). Prints one JSON object: requests/s, p50 /
p95 / p99 / max latency, statuses and errors (the first few shown). Writes no file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import httpx
from common import percentile
from loopback import start_semroute

_WORDS = ("alpha", "beta", "code", "python", "poem", "story", "invoice", "summarize")


def job(i: int) -> tuple[str, dict[str, Any], bool]:
    """Request ``i``: (path, body, streamed)."""
    rng = random.Random(i)
    text = f"{i}: " + " ".join(rng.choice(_WORDS) for _ in range(12))
    ask = [{"role": "user", "content": text}]
    kind = i % 5
    if kind in (0, 1):
        return (
            "/v1/chat/completions",
            {"model": "auto", "stream": kind == 1, "messages": ask},
            kind == 1,
        )
    if kind in (2, 3):
        body = {"model": "auto", "max_tokens": 64, "stream": kind == 3, "messages": ask}
        return "/v1/messages", body, kind == 3
    return "/v1/route", {"input": text}, False


async def one(client: httpx.AsyncClient, i: int) -> tuple[int, str | None]:
    """(status, an error description or None)."""
    path, body, streamed = job(i)
    if not streamed:
        resp = await client.post(path, json=body)
        return resp.status_code, None if resp.status_code == 200 else resp.text[-200:]
    async with client.stream("POST", path, json=body) as resp:
        text = "".join([part async for part in resp.aiter_text()])
    finished = "[DONE]" in text or "message_stop" in text
    return resp.status_code, None if resp.status_code == 200 and finished else text[-200:]


async def load(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    todo = iter(range(requests))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            for i in todo:
                start = time.perf_counter()
                try:
                    status, error = await one(client, i)
                except httpx.HTTPError as exc:
                    status, error = 0, repr(exc)
                latencies.append((time.perf_counter() - start) * 1e3)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if error is not None:
                    errors.append(f"{job(i)[0]} {status}: {error}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "requests_per_s": round(len(latencies) / wall, 1),
        **{f"p{q}_ms": round(percentile(latencies, q), 1) for q in (50, 95, 99)},
        "max_ms": round(max(latencies), 1),
        "statuses": statuses,
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--url", help="a semroute already running (default: start one)")
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_semroute(None, keys=False)
    try:
        print(json.dumps(asyncio.run(load(url, args.requests, args.concurrency))))
    finally:
        if proc is not None:
            proc.stop()


if __name__ == "__main__":
    main()
