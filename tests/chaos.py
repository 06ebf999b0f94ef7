"""A load generator for fault injection: the official openai SDK (async) sends chat requests,
half of them streamed, at a fixed concurrency, and every outcome is classified. Used by
tests/service/test_faults.py (short runs) and bench/chaos.py (long ones).

Outcomes: ``ok`` (the whole reply, finish_reason "stop"); ``lost`` (an error answer: a request
semroute could not serve); ``cut`` (a stream that failed in-band after its first content, so no
fallback was possible — an error, never reported as a success); ``truncated`` (reported as a
success but incomplete: must never happen).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

# The flaky provider's script: half its calls fail, each before any content reaches a client.
FLAKY = ["503", "ok", "error_before_content", "ok", "429:none", "ok", "malformed", "ok"]


@dataclass
class Tally:
    ok: int = 0
    cut: int = 0
    lost: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    served_by: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_s) or [0.0]

        def pct(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return {
            "ok": self.ok,
            "lost": len(self.lost),
            "cut_after_first_content": self.cut,
            "truncated_successes": len(self.truncated),
            "served_by": dict(self.served_by),
            "latency_s": {"p50": pct(0.5), "p99": pct(0.99), "max": round(ordered[-1], 3)},
        }


def _messages(i: int) -> list[Any]:
    return [{"role": "user", "content": f"hello number {i}, how are you"}]


async def _ask(client: openai.AsyncOpenAI, i: int) -> tuple[str, str | None]:
    if i % 2:
        text, finish = "", None
        stream = await client.chat.completions.create(
            model="auto", messages=_messages(i), stream=True
        )
        async for chunk in stream:
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
        return text, finish
    done = await client.chat.completions.create(model="auto", messages=_messages(i))
    return done.choices[0].message.content or "", done.choices[0].finish_reason


async def one_request(
    client: openai.AsyncOpenAI, i: int, replies: Collection[str], tally: Tally
) -> None:
    started = time.perf_counter()
    try:
        text, finish = await _ask(client, i)
    except openai.APIError as exc:
        body = json.dumps(getattr(exc, "body", None) or {})
        if "upstream stream failed" in (exc.message or "") + body:
            tally.cut += 1
        else:
            tally.lost.append(f"{i}: {type(exc).__name__}: {exc.message[:200]}")
        return
    finally:
        tally.latencies_s.append(time.perf_counter() - started)
    if text not in replies or finish != "stop":
        tally.truncated.append(f"{i}: {text!r} finish={finish}")
        return
    tally.ok += 1
    tally.served_by[text.removeprefix("Hello from ")] += 1


async def load(url: str, requests: int, concurrency: int, replies: Collection[str]) -> Tally:
    """Send ``requests`` requests to semroute at ``url``, ``concurrency`` at a time."""
    tally, gate = Tally(), asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with openai.AsyncOpenAI(
        base_url=url + "/v1",
        api_key="k",
        max_retries=0,
        timeout=300,
        http_client=httpx.AsyncClient(limits=limits, timeout=300),
    ) as client:

        async def gated(i: int) -> None:
            async with gate:
                await one_request(client, i, replies, tally)

        await asyncio.gather(*(gated(i) for i in range(requests)))
    return tally
