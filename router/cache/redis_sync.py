"""RedisCacheSync: replicas share the semantic cache through Redis; each keeps its own index.

Layout: ``{prefix}:cache:entry:{id}`` is one entry's JSON (``Entry.to_json()``, the vector as
base64 little-endian float32 in ``vector_b64``), expiring with the entry (created_at + ttl_s on
the cache's clock). ``{prefix}:cache:events`` is a stream (MAXLEN ~100 000) of ``op`` (add |
del | clear), ``origin`` (the writer's random replica id; replicas skip their own) and ``ids``.
Entries and events are encoded by ``router.cache.codec`` (re-exported here).

Out: the cache's on_insert / on_delete hooks queue writes from any thread and return at once; a
writer task pipelines them. In: ``start()`` notes the stream's last id, loads every live entry,
then a tail task XREADs from that id and applies events with ``replicate=False``.
``cache.clear()`` reaches the others as deletes; ``RedisCacheSync.clear()`` clears everywhere.

Redis down: hooks never block or raise, failed writes are dropped and counted (``errors``, one
warning per outage), the local cache keeps serving. Back up: the tail resumes from its last id
if the stream still has it, else reloads every entry (a delete missed meanwhile then lingers
locally until its TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.exceptions import RedisError

from router.cache.codec import decode_entry, decode_event, encode_entry, encode_event
from router.cache.semantic import Entry, SemanticCache
from router.redis_client import redis_client

__all__ = ["MAX_EVENTS", "RedisCacheSync", "decode_entry", "encode_entry"]

log = logging.getLogger(__name__)

MAX_EVENTS = 100_000  # the stream's cap (approximate, MAXLEN ~)
_QUEUE_MAX, _BATCH, _DEL_CHUNK, _BLOCK_S = 10_000, 500, 1000, 1.0


@dataclass(frozen=True, slots=True)
class _Write:
    op: Literal["add", "del", "clear"]
    ids: tuple[str, ...] = ()
    payload: str = ""  # add: the entry's JSON
    ttl_ms: int = 0


class RedisCacheSync:
    """Keeps one replica's SemanticCache in sync with the others through Redis."""

    def __init__(
        self,
        cache: SemanticCache,
        url: str,
        *,
        key_prefix: str = "semroute",
        socket_timeout_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        self.cache = cache
        self.key_prefix = key_prefix
        self.retry_s = retry_s
        self.origin = uuid.uuid4().hex
        self.errors = 0
        self.dropped = 0  # writes lost because the queue was full
        self.events = f"{key_prefix}:cache:events"
        self._socket_timeout_s = socket_timeout_s
        self._redis = redis_client(url, timeout_s=socket_timeout_s, decode_responses=True)
        # XREAD blocks for _BLOCK_S: its own connection, with a timeout longer than that.
        self._tail = redis_client(
            url,
            timeout_s=socket_timeout_s + _BLOCK_S,
            connect_timeout_s=socket_timeout_s,
            decode_responses=True,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Write] = asyncio.Queue(_QUEUE_MAX)
        self._tasks: list[asyncio.Task[None]] = []
        self._last_id: str | None = None  # the last stream event applied (None: reload)
        self._stale = True  # the tail failed (or never ran): check the stream before reading
        self._healthy, self._closing = True, False

    def entry_key(self, entry_id: str) -> str:
        return f"{self.key_prefix}:cache:entry:{entry_id}"

    async def start(self) -> None:
        """Load the live entries (if Redis answers), hook the cache, start tail and writer."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.cache.on_insert.append(self._on_insert)
        self.cache.on_delete.append(self._on_delete)
        try:
            await self._reload()
            self._stale = False
        except Exception as exc:  # the tail loads once Redis answers
            self._failed(exc, "initial load")
        self._tasks = [asyncio.create_task(self._tail_loop()), asyncio.create_task(self._writer())]

    async def aclose(self) -> None:
        """Unhook, flush queued writes (briefly), stop the tasks, close the clients."""
        with contextlib.suppress(ValueError):
            self.cache.on_insert.remove(self._on_insert)
            self.cache.on_delete.remove(self._on_delete)
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), 2 * self._socket_timeout_s)
        self._closing = True
        for task in self._tasks:
            # Re-cancel: redis-py's blocking reads can swallow a CancelledError (redis-py#2028).
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.05)
        self._tasks = []
        for client in (self._tail, self._redis):
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    def clear(self) -> int:
        """Clear this cache and, through Redis, every replica's; returns the local count."""
        gone = self.cache.delete([e.id for e in self.cache.entries()], replicate=False)
        self._submit(_Write("clear"))
        return gone

    # --- outbound: hooks (any thread) → queue → writer task ----------------------------------

    def _on_insert(self, entry: Entry) -> None:
        try:
            left = entry.created_at + self.cache.config.ttl_s - self.cache.clock()
            if left > 0.001:
                self._submit(_Write("add", (entry.id,), encode_entry(entry), int(left * 1000)))
        except Exception as exc:  # a hook never raises into the request
            self.errors += 1
            log.warning("cache sync: could not queue an entry: %s", exc)

    def _on_delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _DEL_CHUNK):
            self._submit(_Write("del", tuple(ids[i : i + _DEL_CHUNK])))

    def _submit(self, write: _Write) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._enqueue, write)

    def _enqueue(self, write: _Write) -> None:
        try:
            self._queue.put_nowait(write)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _writer(self) -> None:
        while not self._closing:
            batch = [await self._queue.get()]
            while len(batch) < _BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
                self._ok()
            except Exception as exc:
                self._failed(exc, "write")
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: Sequence[_Write]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for w in batch:
            if w.op == "add":
                pipe.set(self.entry_key(w.ids[0]), w.payload, px=w.ttl_ms)
            elif w.op == "del":
                pipe.delete(*(self.entry_key(i) for i in w.ids))
            else:  # clear: what was queued before it is written first
                await pipe.execute()
                keys = await self._entry_keys()
                for i in range(0, len(keys), _DEL_CHUNK):
                    await self._redis.unlink(*keys[i : i + _DEL_CHUNK])
            event = encode_event(w.op, self.origin, w.ids)
            pipe.xadd(self.events, event, maxlen=MAX_EVENTS, approximate=True)
        await pipe.execute()

    async def _entry_keys(self) -> list[str]:
        glob = re.sub(r"([*?\[\]\\])", r"\\\1", self.entry_key("")) + "*"
        return [str(k) async for k in self._redis.scan_iter(match=glob, count=1000)]

    # --- inbound: load, then tail the stream -------------------------------------------------

    async def _tail_loop(self) -> None:
        while not self._closing:
            try:
                if self._stale and not await self._resumable():
                    await self._reload()
                self._stale = False
                await self._read_events()
                self._ok()
            except Exception as exc:
                self._failed(exc, "tail")
                self._stale = True
                await asyncio.sleep(self.retry_s)

    async def _resumable(self) -> bool:
        """Does the stream still hold the last event applied (or had it none)?"""
        last = self._last_id
        return last == "0-0" or bool(last and await self._redis.xrange(self.events, last, last))

    async def _reload(self) -> None:
        """Every live entry from Redis; the stream's last id is noted first so none is missed."""
        newest = await self._redis.xrevrange(self.events, "+", "-", 1)
        last = str(newest[0][0]) if newest else "0-0"
        keys = await self._entry_keys()
        for i in range(0, len(keys), _BATCH):
            values = await self._redis.mget(keys[i : i + _BATCH])
            await asyncio.to_thread(self._apply, [e for e in map(self._decode, values) if e])
        self._last_id = last

    async def _read_events(self) -> None:
        assert self._last_id is not None
        block_ms = int(_BLOCK_S * 1000)
        found: Any = await self._tail.xread({self.events: self._last_id}, _BATCH, block_ms)
        streams = list(found.values()) if isinstance(found, dict) else [s for _, s in found or ()]
        events: list[tuple[str, dict[str, str]]] = streams[0] if streams else []
        if not events:
            return
        theirs = (f for _, f in events if f.get("origin") != self.origin)
        parsed = [p for p in map(self._parse, theirs) if p is not None]
        adds = [ids[0] for op, ids in parsed if op == "add"]
        values = await self._redis.mget([self.entry_key(i) for i in adds]) if adds else []
        fetched = {i: e for i, e in zip(adds, map(self._decode, values), strict=True) if e}
        # Advanced before applying: an event that cannot be applied never stalls the tail.
        self._last_id = str(events[-1][0])
        ops: list[Entry | list[str] | None] = [
            fetched[ids[0]] if op == "add" else ids if op == "del" else None
            for op, ids in parsed
            if op != "add" or ids[0] in fetched
        ]
        try:
            if ops:
                await asyncio.to_thread(self._apply, ops)
        except Exception:
            self.errors += 1
            log.exception("cache sync: could not apply %d event(s)", len(ops))

    def _parse(self, fields: dict[str, str]) -> tuple[str, list[str]] | None:
        """(op, ids) of an event; None (counted) for a malformed one."""
        parsed = decode_event(fields)
        if parsed is None:
            self.errors += 1
            log.warning("cache sync: skipped a malformed event %r", fields)
        return parsed

    def _decode(self, value: object) -> Entry | None:
        """The stored entry if it is still fresh (None also for a missing or bad one)."""
        try:
            entry = decode_entry(value, self.cache.dim) if isinstance(value, str) else None
        except ValueError as exc:
            self.errors += 1
            log.warning("cache sync: skipped an entry: %s", exc)
            return None
        if entry is None or self.cache.clock() - entry.created_at >= self.cache.config.ttl_s:
            return None
        return entry

    def _apply(self, ops: Sequence[Entry | list[str] | None]) -> None:
        """Entry: put it; ids: delete them; None: clear."""
        for op in ops:
            if isinstance(op, Entry):
                self.cache.put(op, replicate=False)
            elif op is None:
                self.cache.delete([e.id for e in self.cache.entries()], replicate=False)
            else:
                self.cache.delete(op, replicate=False)

    def _failed(self, exc: BaseException, what: str) -> None:
        self.errors += 1
        if self._healthy:  # once per outage
            log.warning("cache sync (%s): Redis unavailable, local cache only: %r", what, exc)
        self._healthy = False

    def _ok(self) -> None:
        if not self._healthy:
            log.info("cache sync: Redis reachable again")
        self._healthy = True
