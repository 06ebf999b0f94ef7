"""The routing-outcome log: one JSON record per request, written off the request path.

``OutcomeLog.record`` never blocks and never fails a request: records go to a bounded queue
drained by a background task into a sink — rotating JSONL files (default) or a Redis stream —
and when the queue is full or the sink is down they are dropped and counted.
``record_later`` queues how to build a record instead (the request id is known at once), so
even building it happens off the request path; the writer gathers what arrives within
``linger_s`` of a first record into one write (one hop to a worker thread, one file append).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio

from router.redis_client import redis_client

log = logging.getLogger("semroute.outcomes")
Record = dict[str, Any]
Pending = Record | Callable[[], Record]  # a record, or how to build it (off the request path)
_BATCH = 256
_POLL_S = 0.2  # how often an idle writer checks whether it should stop
_LINGER_S = 0.2  # gather what arrives this long after a first record: one write, one hop
_CLOSE_WAIT_S = 10.0


class OutcomeSink(Protocol):
    async def write(self, records: list[Record]) -> None: ...

    async def aclose(self) -> None: ...


class JsonlSink:
    """``<dir>/outcomes-YYYYMMDD-NNN.jsonl``: a new file per UTC day or past ``max_bytes``."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 50_000_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.clock = clock
        # (day, file, its size): the directory is scanned again only on a new day, past
        # max_bytes, or after a failed write, not on every batch.
        self._current: tuple[str, Path, int] | None = None

    def _scan(self, day: str) -> tuple[str, Path, int]:
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = sorted(self.directory.glob(f"outcomes-{day}-*.jsonl"))
        if existing:
            size = existing[-1].stat().st_size
            if size < self.max_bytes:
                return day, existing[-1], size
        return day, self.directory / f"outcomes-{day}-{len(existing):03d}.jsonl", 0

    def _append(self, records: list[Record]) -> None:
        data = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        raw = data.encode("utf-8")
        day = self.clock().strftime("%Y%m%d")
        current = self._current
        if current is None or current[0] != day or current[2] >= self.max_bytes:
            current = self._scan(day)
        self._current = None  # until the write succeeds
        with current[1].open("ab") as fh:
            fh.write(raw)
        self._current = (day, current[1], current[2] + len(raw))

    async def write(self, records: list[Record]) -> None:
        await anyio.to_thread.run_sync(self._append, records)

    async def aclose(self) -> None:
        return None


def read_jsonl_records(path: Path) -> Iterator[Record]:
    """Records from a file, or from every ``*.jsonl`` of a directory in name order.

    Lines that are not JSON objects are skipped.
    """
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    for file in files:
        with file.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record


class OutcomeLog:
    """Bounded, non-blocking writer. ``on_drop`` is told how many records were lost."""

    def __init__(
        self,
        sink: OutcomeSink,
        *,
        queue_size: int = 10_000,
        recent_ids: int = 200_000,
        on_drop: Callable[[int], None] | None = None,
        linger_s: float = _LINGER_S,
    ) -> None:
        self.sink = sink
        self.queue: asyncio.Queue[Pending] = asyncio.Queue(maxsize=queue_size)
        self.linger_s = linger_s
        self._stop = asyncio.Event()
        self.on_drop = on_drop
        self.dropped = 0
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_max = recent_ids
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def knows(self, request_id: str) -> bool:
        return request_id in self._recent

    def remember(self, request_id: str) -> None:
        self._recent[request_id] = None
        self._recent.move_to_end(request_id)
        while len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)

    def record(self, record: Record) -> None:
        """Queue a record; never blocks, never raises."""
        if record.get("type") == "outcome" and record.get("request_id"):
            self.remember(str(record["request_id"]))
        self._put(record)

    def record_later(self, request_id: str, build: Callable[[], Record]) -> None:
        """Queue an outcome record that the writer builds; the id is known at once (feedback
        may refer to it). Never blocks, never raises."""
        self.remember(request_id)
        self._put(build)

    def _put(self, pending: Pending) -> None:
        try:
            self.queue.put_nowait(pending)
        except asyncio.QueueFull:
            self._drop(1)

    def _drop(self, n: int) -> None:
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        """Write batches until ``aclose`` sets the stop flag and the queue is empty."""
        while not (self._stopping and self.queue.empty()):
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=_POLL_S)
            except TimeoutError:
                continue
            if not self._stopping and self.linger_s > 0 and self.queue.qsize() < _BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.linger_s)
            batch = [first]
            while len(batch) < _BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self._write(batch)

    def _built(self, batch: list[Pending]) -> list[Record]:
        records: list[Record] = []
        for pending in batch:
            if not callable(pending):
                records.append(pending)
                continue
            try:
                records.append(pending())
            except Exception as exc:  # a record that cannot be built is lost, not fatal
                log.warning("outcome log: a record could not be built (%s)", exc)
                self._drop(1)
        return records

    async def _write(self, batch: list[Pending]) -> None:
        records = self._built(batch)
        if not records:
            return
        try:
            await self.sink.write(records)
        except Exception as exc:  # any sink failure: count the loss, keep serving
            log.warning("outcome log: %d record(s) dropped (%s)", len(records), exc)
            self._drop(len(records))

    async def aclose(self) -> None:
        """Let the writer finish what is queued (bounded wait), then close the sink.

        A batch the writer has taken is never abandoned half-way: the writer is asked to stop,
        not cancelled, unless it is stuck past ``_CLOSE_WAIT_S``.
        """
        if self._task is not None:
            self._stopping = True
            self._stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=_CLOSE_WAIT_S)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        rest: list[Pending] = []
        while not self.queue.empty():
            rest.append(self.queue.get_nowait())
        if rest:
            await self._write(rest)
        await self.sink.aclose()


class RedisStreamSink:
    """XADD each record (as JSON) to ``{prefix}:outcomes``, capped at ``maxlen`` entries."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "semroute",
        maxlen: int = 1_000_000,
        socket_timeout_s: float = 0.5,
    ) -> None:
        self.key = f"{key_prefix}:outcomes"
        self.maxlen = maxlen
        # Off the request path: redis-py's retries are welcome here.
        self._redis = redis_client(url, timeout_s=socket_timeout_s, fail_fast=False)

    async def write(self, records: list[Record]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for r in records:
                pipe.xadd(
                    self.key,
                    {"record": json.dumps(r, default=str)},
                    maxlen=self.maxlen,
                    approximate=True,
                )
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()


def read_redis_records(url: str, key: str) -> Iterator[Record]:
    """Every record of a Redis outcome stream (oldest first)."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    start = "-"
    while True:
        batch: Any = client.xrange(key, min=start, count=1000)
        for _entry_id, fields in batch:
            try:
                record = json.loads(fields["record"])
            except (KeyError, json.JSONDecodeError):
                continue
            if isinstance(record, dict):
                yield record
        if len(batch) < 1000:
            return
        start = "(" + str(batch[-1][0])
