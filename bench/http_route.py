"""HTTP /v1/route throughput and latency from a loopback load generator.

    .venv/bin/python bench/http_route.py [--requests 1000] [--runs 3] [--concurrency 1 16 64]
    .venv/bin/python bench/http_route.py --same-prompt   # service overhead only (memo hits)
    .venv/bin/python bench/http_route.py --uvloop        # also serve on uvloop, same run
    .venv/bin/python bench/http_route.py --rate 400 800 --concurrency 64 --sets real  # open loop

semroute runs as its own process (uvicorn, embedded defaults, mock providers); a bounded
asyncio load generator (one keep-alive HTTP/1.1 connection per worker, see ``Connection``)
sends distinct real prompts (no repeats, so the exact-match memo does not flatter the numbers)
at concurrency 1, 16 and 64, and stops by itself. Reports medians over runs of requests/s,
p50 and p99. Writes bench/results/http_route.json.
``--uvloop`` repeats the concurrency-64 runs with ``[service] event_loop = "uvloop"`` (rows
"<set> · uvloop"), so the two event loops are compared in one run on one machine.
``--rate R`` paces requests instead (open loop, Poisson arrivals at R a second, at most
``--concurrency`` in flight): a closed loop keeps every connection busy, so the service runs
saturated and the encoders' queues sit at the overload threshold whatever their speed; at a
given arrival rate the overload share and the tail say what traffic at that rate sees.
Latency counts from each request's scheduled start (a request that waits for a free
connection is late, not left out). Rows "<set> · R/s"; writes bench/results/http_route_rate.json.
``--same-prompt`` sends one prompt again and again instead: after the first, every embedding
is an exact-match memo hit, so what is left is the service's own per-request cost (HTTP, JSON,
middleware, routing, logging, metrics); it prints its results and writes no file.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import EVAL_FILES, RESULTS, machine, median, percentile
from loopback import start_semroute

from training.dataset import read_jsonl

# "mixed": every eval file (templated public prompts, written prompts, long real user prompts
# from the arena hold-out); "short": the dev split alone (short templated public prompts);
# "real": chatbot-style prompts alone (the arena hold-out, long; both multilingual hold-outs).
PROMPT_SETS = {
    "mixed": tuple(EVAL_FILES),
    "short": ("dev",),
    "real": ("realistic_holdout", "multilingual_holdout", "multilingual_chat_holdout"),
}
DEFAULT_SETS = ("mixed", "short")


def prompts(n: int, files: tuple[str, ...] = PROMPT_SETS["mixed"]) -> list[str]:
    texts: list[str] = []
    for name in files:
        if EVAL_FILES[name].exists():
            texts += [e.text for e in read_jsonl(EVAL_FILES[name]).examples]
    unique = list(dict.fromkeys(texts))
    # More requests than prompts: later rounds are marked, so that no text repeats (the memo
    # would answer it); distinct across runs too: a run number is appended to each prompt.
    rounds = [
        t if i < len(unique) else f"{t} [{i // len(unique)}]"
        for i, t in enumerate(unique * (n // len(unique) + 1))
    ]
    return rounds[:n]


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer: a few dozen
    microseconds a request. An httpx client costs about a millisecond of CPU a request, and
    with 64 of them on one event loop the load generator, not semroute, is what is measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def post(self, path: str, payload: object) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        return status, await self.reader.readexactly(length)

    async def aclose(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def load(url: str, texts: list[str], concurrency: int) -> tuple[float, list[float], int]:
    """Requests/s, latencies (ms), and how many decisions were made under overload."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for t in texts:
        queue.put_nowait(t)
    latencies: list[float] = []
    overloaded = 0
    connections = [await Connection.open(url) for _ in range(concurrency)]

    async def worker(conn: Connection) -> None:
        nonlocal overloaded
        while not queue.empty():
            text = queue.get_nowait()
            start = time.perf_counter()
            status, body = await conn.post("/v1/route", {"input": text})
            latencies.append((time.perf_counter() - start) * 1e3)
            if status != 200:
                raise RuntimeError(f"/v1/route answered {status}: {body[:200]!r}")
            overloaded += b'"overload":true' in body

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))
    return len(texts) / elapsed, latencies, overloaded


async def paced(
    url: str, texts: list[str], concurrency: int, rate: float
) -> tuple[float, list[float], int]:
    """``load`` in an open loop: Poisson arrivals at ``rate`` a second, at most
    ``concurrency`` in flight; each latency counts from the request's scheduled start."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(await Connection.open(url))
    latencies: list[float] = []
    overloaded = 0
    gaps = random.Random(0)
    start = time.perf_counter()
    due = [start]
    for _ in texts[1:]:
        due.append(due[-1] + gaps.expovariate(rate))

    async def one(text: str, at: float) -> None:
        nonlocal overloaded
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        conn = await pool.get()
        try:
            status, body = await conn.post("/v1/route", {"input": text})
        finally:
            pool.put_nowait(conn)
        latencies.append((time.perf_counter() - at) * 1e3)
        if status != 200:
            raise RuntimeError(f"/v1/route answered {status}: {body[:200]!r}")
        overloaded += b'"overload":true' in body

    try:
        await asyncio.gather(*(one(t, at) for t, at in zip(texts, due, strict=True)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(pool.get_nowait().aclose() for _ in range(pool.qsize())))
    return len(texts) / elapsed, latencies, overloaded


def measure(
    url: str, texts: list[str], c: int, runs: int, tag: str | None, rate: float | None = None
) -> dict[str, float]:
    """Medians over ``runs`` of one load run at concurrency ``c`` (paced at ``rate`` a second
    when given). Each prompt gets ``tag`` and the run appended, so no text is ever sent twice;
    ``tag`` None sends the first text only."""
    rates, p50, p99, shed = [], [], [], []
    for run in range(runs):
        batch = [f"{t} ({tag}.{c}.{run})" for t in texts] if tag else [texts[0]] * len(texts)
        sent = paced(url, batch, c, rate) if rate else load(url, batch, c)
        rate_seen, lat, overloaded = asyncio.run(sent)
        rates.append(rate_seen)
        p50.append(percentile(lat, 50))
        p99.append(percentile(lat, 99))
        shed.append(overloaded / len(batch))
    return {
        "requests_per_s": round(median(rates), 1),
        "p50_ms": round(median(p50), 2),
        "p99_ms": round(median(p99), 2),
        # decided by the static stage only because the next encoder was busy (`overload`)
        "overload_share": round(median(shed), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), choices=PROMPT_SETS)
    parser.add_argument("--same-prompt", action="store_true")
    parser.add_argument("--config", type=Path, help="semroute.toml (default: embedded; no file)")
    parser.add_argument("--uvloop", action="store_true", help="also at c=64 on uvloop")
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=[],
        help="open loop: Poisson arrivals at each of these many requests a second",
    )
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    runs = [("", {}, args.concurrency)]
    if args.uvloop:
        runs.append((" · uvloop", {"SEMROUTE_SERVICE__EVENT_LOOP": "uvloop"}, [64]))
    for suffix, overrides, levels in runs:
        proc, url = start_semroute(args.config, keys=False, env_overrides=overrides)
        try:
            asyncio.run(load(url, [f"warm-up {t}" for t in prompts(50)], 4))
            for name in args.sets:
                base = prompts(args.requests, PROMPT_SETS[name])
                for c, rate in itertools.product(levels, args.rate or [None]):
                    n = args.requests if c > 1 else max(100, args.requests // 4)
                    tag = None if args.same_prompt else name + suffix
                    row = measure(url, base[:n], c, args.runs, tag, rate)
                    paced_at = f" · {rate:g}/s" if rate else ""
                    results.setdefault(name + suffix + paced_at, {})[f"c{c}"] = row
                    print(f"{name}{suffix}{paced_at}, concurrency {c}: {row}", flush=True)
        finally:
            proc.stop()
    out = {
        "machine": machine(),
        "requests": args.requests,
        "runs": args.runs,
        "command": " ".join(["python bench/http_route.py", *sys.argv[1:]]),
        "prompt_sets": {n: list(PROMPT_SETS[n]) for n in args.sets},
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    if not args.same_prompt and args.config is None:
        name = "http_route_rate.json" if args.rate else "http_route.json"
        (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
