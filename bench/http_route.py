"""HTTP /v1/route throughput and latency from a loopback load generator.

    .venv/bin/python bench/http_route.py [--requests 1000] [--runs 3] [--concurrency 1 16 64]
    .venv/bin/python bench/http_route.py --same-prompt   # service overhead only (memo hits)
    .venv/bin/python bench/http_route.py --uvloop        # also serve on uvloop, same run

semroute runs as its own process (uvicorn, embedded defaults, mock providers); a bounded
asyncio load generator (one keep-alive HTTP/1.1 connection per worker, see ``Connection``)
sends distinct real prompts (no repeats, so the exact-match memo does not flatter the numbers)
at concurrency 1, 16 and 64, and stops by itself. Reports medians over runs of requests/s,
p50 and p99. Writes bench/results/http_route.json.
``--uvloop`` repeats the concurrency-64 runs with ``[service] event_loop = "uvloop"`` (rows
"<set> · uvloop"), so the two event loops are compared in one run on one machine.
``--same-prompt`` sends one prompt again and again instead: after the first, every embedding
is an exact-match memo hit, so what is left is the service's own per-request cost (HTTP, JSON,
middleware, routing, logging, metrics); it prints its results and writes no file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import EVAL_FILES, RESULTS, machine, median, percentile
from loopback import start_semroute

from training.dataset import read_jsonl

# "mixed": every eval file (templated public prompts, written prompts, long real user prompts
# from the arena hold-out); "short": the dev split alone (short templated public prompts).
PROMPT_SETS = {"mixed": tuple(EVAL_FILES), "short": ("dev",)}


def prompts(n: int, files: tuple[str, ...] = PROMPT_SETS["mixed"]) -> list[str]:
    texts: list[str] = []
    for name in files:
        if EVAL_FILES[name].exists():
            texts += [e.text for e in read_jsonl(EVAL_FILES[name]).examples]
    unique = list(dict.fromkeys(texts))
    # Distinct across runs too: a run number is appended to each prompt.
    return (unique * (n // len(unique) + 1))[:n]


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


def measure(url: str, texts: list[str], c: int, runs: int, tag: str | None) -> dict[str, float]:
    """Medians over ``runs`` of one load run at concurrency ``c``. Each prompt gets ``tag`` and
    the run appended, so no text is ever sent twice; ``tag`` None sends the first text only."""
    rates, p50, p99, shed = [], [], [], []
    for run in range(runs):
        batch = [f"{t} ({tag}.{c}.{run})" for t in texts] if tag else [texts[0]] * len(texts)
        rate, lat, overloaded = asyncio.run(load(url, batch, c))
        rates.append(rate)
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
    parser.add_argument("--sets", nargs="+", default=list(PROMPT_SETS), choices=PROMPT_SETS)
    parser.add_argument("--same-prompt", action="store_true")
    parser.add_argument("--config", type=Path, help="semroute.toml (default: embedded; no file)")
    parser.add_argument("--uvloop", action="store_true", help="also at c=64 on uvloop")
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
                for c in levels:
                    n = args.requests if c > 1 else max(100, args.requests // 4)
                    tag = None if args.same_prompt else name + suffix
                    row = measure(url, base[:n], c, args.runs, tag)
                    results.setdefault(name + suffix, {})[f"c{c}"] = row
                    print(f"{name}{suffix}, concurrency {c}: {row}", flush=True)
        finally:
            proc.stop()
    out = {
        "machine": machine(),
        "requests": args.requests,
        "runs": args.runs,
        "command": "python bench/http_route.py" + (" --uvloop" if args.uvloop else ""),
        "prompt_sets": {n: list(PROMPT_SETS[n]) for n in args.sets},
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    if not args.same_prompt and args.config is None:
        (RESULTS / "http_route.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
