"""Chaos run on the default execution settings: one silent provider, one failing half its calls.

    .venv/bin/python bench/chaos.py [--requests 2000] [--concurrency 32] [--max-seconds 900]
    make chaos

Three real loopback upstreams (tests/upstreams.py), ranked in this order for every request:
``silent`` (OpenAI wire; accepts the connection and never answers), ``flaky`` (Anthropic wire;
half its calls fail before any content: 503, an error event after message_start, 429 without
Retry-After, a malformed first event) and ``healthy`` (OpenAI wire). semroute serves them with
the embedded default ``[execution]`` section untouched (deadline 60 s shared among the
candidates, first-token timeout 15 s, the default retries and breakers); the cache is off so
every request is executed, and routing uses the small test encoder (what is measured is the
execution, not the classification). The official openai SDK sends the requests, half of them
streamed. Writes bench/results/chaos.json.

The contract: 0 requests lost while a healthy provider exists, 0 truncated successes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, machine

from router.config.settings import Config, load_config
from router.core import Router
from router.execution.deployments import build_providers
from service.app import create_app
from tests.chaos import FLAKY, load
from tests.conftest import write_test_centroids
from tests.fakes import HashingEncoder
from tests.serving import serve
from tests.upstreams import Upstream

NAMES = ("silent", "flaky", "healthy")
KEYS = {f"{name.upper()}_KEY": f"sk-{name}" for name in NAMES}


def chaos_config(root: Path, urls: dict[str, str]) -> Config:
    """The embedded defaults, with three loopback providers ranked silent → flaky → healthy."""
    raw = load_config().model_dump()
    raw["routing"]["centroids_dir"] = str(write_test_centroids(root / "c", HashingEncoder()))
    raw["outcomes"]["enabled"] = False
    raw["cache"]["enabled"] = False
    raw["providers"] = {
        name: {
            "kind": "anthropic" if name == "flaky" else "openai",
            "base_url": urls[name] + ("" if name == "flaky" else "/v1"),
            "api_key_env": f"{name.upper()}_KEY",
        }
        for name in NAMES
    }
    raw["models"] = {
        name: {"provider": name, "upstream": f"{name}-up", "input_price": 1, "output_price": 2}
        for name in NAMES
    }
    raw["tasks"] = {t: {**v, "models": list(NAMES)} for t, v in raw["tasks"].items()}
    raw["routing"]["default_route"] = list(NAMES)
    return Config.model_validate(raw)


async def run(requests: int, concurrency: int, max_seconds: float) -> dict[str, Any]:
    with (
        Upstream("silent") as silent,
        Upstream("flaky") as flaky,
        Upstream("healthy") as healthy,
        tempfile.TemporaryDirectory() as tmp,
    ):
        silent.always("hang")
        flaky.script(*FLAKY * (requests // len(FLAKY) + 1))
        urls = {"silent": silent.base_url, "flaky": flaky.base_url, "healthy": healthy.base_url}
        config = chaos_config(Path(tmp), urls)
        router = Router.from_config(config, HashingEncoder(), build_providers(config, KEYS))
        replies = {f"Hello from {name}" for name in NAMES}
        with serve(create_app(config, router)) as url:
            started = time.perf_counter()
            tally = await asyncio.wait_for(load(url, requests, concurrency, replies), max_seconds)
            elapsed = time.perf_counter() - started
        calls = {"silent": silent.calls, "flaky": flaky.calls, "healthy": healthy.calls}
    execution = config.execution
    return {
        "machine": machine(),
        "requests": requests,
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "execution": {
            "deadline_s": execution.deadline_s,
            "first_token_timeout_s": execution.first_token_timeout_s,
            "breaker": execution.breaker.model_dump(),
        },
        "upstream_calls": calls,
        **tally.summary(),
        "lost_examples": tally.lost[:5],
        "truncated_examples": tally.truncated[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.concurrency, args.max_seconds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "chaos.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    if result["lost"] or result["truncated_successes"]:
        raise SystemExit("chaos: requests were lost or truncated answers reported as successes")


if __name__ == "__main__":
    main()
