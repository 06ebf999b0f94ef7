"""RedisCacheSync against a real redis-server: replicas (SemanticCache + sync each) on one Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest
import redis.asyncio as aioredis

from router.cache.redis_sync import RedisCacheSync, decode_entry, encode_entry
from router.cache.semantic import Entry, SemanticCache
from router.config.settings import CacheConfig
from tests.clock import Clock
from tests.fakes import HashingEncoder
from tests.redis_server import RedisServer

ENC = HashingEncoder()
NS = "acme:0f0f"
TTL = 100.0

Replica = Callable[..., Awaitable[RedisCacheSync]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def replica(redis_url: str, clock: Clock) -> AsyncIterator[Replica]:
    """Starts a replica (its own cache and sync); all are closed after the test."""
    started: list[RedisCacheSync] = []

    async def make(url: str = redis_url, at: Clock = clock, **config: object) -> RedisCacheSync:
        cache_config = CacheConfig(verify=False, ttl_s=TTL, **config)
        cache = SemanticCache(cache_config, ENC.dim, None, clock=at)
        sync = RedisCacheSync(cache, url, key_prefix="t", socket_timeout_s=0.2, retry_s=0.05)
        started.append(sync)
        await sync.start()
        return sync

    yield make
    for sync in started:
        await sync.aclose()


def entry(cache: SemanticCache, text: str, ns: str = NS, age: float = 0.0) -> Entry:
    return Entry(
        id=f"id-{text}",
        namespace=ns,
        text=text,
        vector=ENC.encode([text])[0],
        response={"message": {"role": "assistant", "content": f"answer to {text}"}},
        model="m",
        model_tier="economy",
        created_at=cache.clock() - age,
    )


def put(cache: SemanticCache, text: str, ns: str = NS, age: float = 0.0) -> Entry:
    e = entry(cache, text, ns, age)
    cache.put(e)
    return e


def find(cache: SemanticCache, text: str, ns: str = NS) -> Entry | None:
    return cache.lookup(ns, ENC.encode([text])[0], text, 0.9).entry


async def eventually(check: Callable[[], bool], timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not replicated in time"
        await asyncio.sleep(0.01)


def test_entries_round_trip_through_json() -> None:
    e = entry(SemanticCache(CacheConfig(), ENC.dim), "what is the capital of france")
    back = decode_entry(encode_entry(e), ENC.dim)
    assert back.vector.dtype == np.float32
    np.testing.assert_array_equal(back.vector, e.vector)
    assert {**back.to_json(), "vector": None} == {**e.to_json(), "vector": None}
    assert decode_entry(json.dumps(e.to_json()), ENC.dim).id == e.id  # plain lists load too
    with pytest.raises(ValueError, match="shape"):
        decode_entry(encode_entry(e), 8)
    with pytest.raises(ValueError, match="bad cache entry"):
        decode_entry('{"id": 1}', ENC.dim)


async def test_a_put_in_one_replica_is_found_in_the_other(replica: Replica) -> None:
    a, b = await replica(), await replica()
    original = await asyncio.to_thread(put, a.cache, "how do I reverse a list in python")
    await eventually(lambda: find(b.cache, "how do I reverse a list in python") is not None)
    copy = b.cache.get(original.id)
    assert copy is not None and copy.response == original.response
    assert copy.namespace == NS and copy.created_at == original.created_at
    put(b.cache, "write a haiku about the sea")
    await eventually(lambda: find(a.cache, "write a haiku about the sea") is not None)
    assert a.cache.get(original.id) is original  # its own event is not applied again
    assert a.errors == b.errors == 0


async def test_a_delete_in_one_replica_disappears_from_the_other(replica: Replica) -> None:
    a, b = await replica(), await replica()
    e = put(a.cache, "explain the pros and cons of microservices")
    await eventually(lambda: b.cache.get(e.id) is not None)
    assert b.cache.delete([e.id]) == 1
    await eventually(lambda: a.cache.get(e.id) is None)
    assert find(a.cache, "explain the pros and cons of microservices") is None


async def test_clear_propagates(replica: Replica, redis_url: str) -> None:
    a, b = await replica(), await replica()
    for text in ("one fish", "two fish", "red fish"):
        put(a.cache, text)
    put(b.cache, "blue fish")
    await eventually(lambda: len(a.cache) == len(b.cache) == 4)
    a.cache.clear()  # reaches b as deletes of everything a held
    await eventually(lambda: len(b.cache) == 0)
    put(b.cache, "green eggs")
    await eventually(lambda: len(a.cache) == 1)
    assert b.clear() == 1  # every replica, and Redis itself
    await eventually(lambda: len(a.cache) == 0)
    late = await replica()
    assert len(late.cache) == 0
    assert await entry_keys(redis_url) == []


async def entry_keys(url: str) -> list[str]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        return sorted(map(str, await client.keys("t:cache:entry:*")))
    finally:
        await client.aclose()


async def test_a_replica_started_later_loads_the_live_entries(
    replica: Replica, clock: Clock, redis_url: str
) -> None:
    a = await replica()
    kept = [put(a.cache, t) for t in ("solve x squared", "summarize this article", "hi there")]
    gone = put(a.cache, "who invented the telephone")
    a.cache.delete([gone.id])
    put(a.cache, "already stale when written", age=TTL + 1)  # never written to Redis
    put(a.cache, "stale by the time c starts", age=TTL - 5)
    for _ in range(200):  # until a's writer has written the four live ones
        if len(await entry_keys(redis_url)) == 4:
            break
        await asyncio.sleep(0.01)
    clock.now += 10
    c = await replica()
    assert sorted(e.id for e in c.cache.entries()) == sorted(e.id for e in kept)
    assert find(c.cache, "summarize this article") is not None


async def test_tenant_namespaces_stay_isolated(replica: Replica) -> None:
    a, b = await replica(), await replica()
    put(a.cache, "what is our refund policy", ns="acme:1234")
    await eventually(lambda: find(b.cache, "what is our refund policy", "acme:1234") is not None)
    assert find(b.cache, "what is our refund policy", "globex:1234") is None
    assert b.cache.namespaces() == {"acme:1234": 1}


async def test_key_layout_and_expiry(replica: Replica, redis_url: str) -> None:
    a = await replica()
    e = put(a.cache, "extract the dates from this passage", age=TTL - 30)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        key = f"t:cache:entry:{e.id}"
        for _ in range(200):
            if await client.exists(key):
                break
            await asyncio.sleep(0.01)
        assert 29_000 < await client.pttl(key) <= 30_000
        raw = await client.get(key)
        assert isinstance(raw, str)
        stored = json.loads(raw)
        assert "vector" not in stored and isinstance(stored["vector_b64"], str)
        events = await client.xrange("t:cache:events")
        assert events is not None
        [(_, event)] = events
        assert event == {"op": "add", "origin": a.origin, "ids": json.dumps([e.id])}
    finally:
        await client.aclose()


async def test_malformed_events_and_entries_are_skipped(replica: Replica, redis_url: str) -> None:
    a, b = await replica(), await replica()
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.xadd("t:cache:events", {"op": "add", "origin": "x", "ids": "not json"})
        await client.set("t:cache:entry:bad", "{}")
        await client.xadd("t:cache:events", {"op": "add", "origin": "x", "ids": '["bad"]'})
    finally:
        await client.aclose()
    put(a.cache, "still replicated afterwards")
    await eventually(lambda: find(b.cache, "still replicated afterwards") is not None)
    assert b.errors == 2


async def test_redis_down_keeps_serving_locally_then_resumes(
    replica: Replica, redis_private: RedisServer
) -> None:
    a, b = await replica(redis_private.url), await replica(redis_private.url)
    put(a.cache, "first question")
    await eventually(lambda: find(b.cache, "first question") is not None)
    redis_private.stop()
    put(a.cache, "asked while redis is down")  # on the event loop
    await asyncio.to_thread(put, a.cache, "asked from a worker thread")
    a.cache.delete(["id-first question"])
    assert find(a.cache, "asked while redis is down") is not None
    await eventually(lambda: a.errors > 0 and b.errors > 0)
    redis_private.start()  # same URL, empty
    put(a.cache, "asked after redis came back")
    await eventually(lambda: find(b.cache, "asked after redis came back") is not None, 3.0)
    put(b.cache, "and the other way round")
    await eventually(lambda: find(a.cache, "and the other way round") is not None)


async def test_starting_while_redis_is_down(replica: Replica, redis_private: RedisServer) -> None:
    redis_private.stop()
    a = await replica(redis_private.url)  # does not raise
    assert a.errors == 1
    put(a.cache, "served locally")
    assert find(a.cache, "served locally") is not None
    redis_private.start()
    b = await replica(redis_private.url)
    put(b.cache, "written once redis is up")
    await eventually(lambda: find(a.cache, "written once redis is up") is not None, 3.0)
