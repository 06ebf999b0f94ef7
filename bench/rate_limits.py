"""What [limits] costs a request: RateLimits.admit + settle (a key and a tenant, requests and
tokens), in process memory and in a real Redis on loopback.

    .venv/bin/python bench/rate_limits.py [--requests 2000] [--runs 3]

Redis: a redis-server this script starts on a free loopback port (tests/redis_server.py), or
skipped when none is installed. Writes bench/results/rate_limits.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from common import RESULTS, machine, median, percentile

from router.config import Config, load_config
from service.rate_limits import RateLimits, build_storage


def limited_config(redis_url: str | None) -> Config:
    raw = load_config(environ={}).model_dump()
    raw["auth"]["keys"] = [
        {"name": "bench", "sha256": "0" * 64, "tenant": "acme", "requests_per_minute": 10**9}
    ]
    raw["limits"]["per_key"] = {"tokens_per_minute": 10**12}
    raw["limits"]["tenants"] = {"acme": {"requests_per_minute": 10**9}}
    raw["redis"]["url"] = redis_url
    return Config.model_validate(raw)


async def measure(config: Config, n: int) -> list[float]:
    limits = RateLimits(config, build_storage(config))
    key = config.auth.keys[0]
    samples = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            admission = await limits.admit("acme", key)
            assert admission is not None
            await limits.settle(admission, 300)
            samples.append((time.perf_counter() - start) * 1e3)
    finally:
        await limits.aclose()
    return samples


def scenario(redis_url: str | None, n: int, runs: int) -> dict[str, Any]:
    config = limited_config(redis_url)
    p50, p99 = [], []
    for _ in range(runs):
        samples = asyncio.run(measure(config, n))
        p50.append(percentile(samples, 50))
        p99.append(percentile(samples, 99))
    return {"p50_ms": round(median(p50), 4), "p99_ms": round(median(p99), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"memory": scenario(None, args.requests, args.runs)}
    try:
        from tests.redis_server import RedisServer

        with RedisServer() as server:
            results["redis"] = scenario(server.url, args.requests, args.runs)
    except RuntimeError as exc:  # no redis-server on this machine
        results["redis"] = {"skipped": str(exc)}
    out = {"machine": machine(), "requests": args.requests, "runs": args.runs, **results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rate_limits.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
