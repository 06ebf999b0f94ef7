"""RedisLedger against a real redis-server (fixtures in tests/redis_server.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from router.budget.ledger import BudgetState
from router.budget.redis_ledger import RedisLedger
from router.errors import BudgetUnavailable, RoutingError
from router.types import Reservation
from tests.redis_server import RedisServer, free_port

DAY = "2026-11-21"
GLOBAL = "global"


@pytest.fixture
async def ledger(redis_url: str) -> AsyncIterator[RedisLedger]:
    ledger = RedisLedger(redis_url, key_prefix="t")
    yield ledger
    await ledger.aclose()


async def reserve(
    ledger: RedisLedger, amount: int, limit: int = 1000, floor: int = 0
) -> Reservation:
    r = await ledger.reserve(GLOBAL, DAY, amount, limit, floor)
    assert r is not None
    return r


async def test_reserve_commit_release_arithmetic(ledger: RedisLedger) -> None:
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 0)
    a = await reserve(ledger, 300)
    b = await reserve(ledger, 200)
    assert (a.scope, a.day, a.amount_micros) == (GLOBAL, DAY, 300)
    assert a.id != b.id
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 500)
    await ledger.commit(a, 120)
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 120, 200)
    await ledger.release(b)
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 120, 0)


async def test_limit_and_floor(ledger: RedisLedger) -> None:
    await reserve(ledger, 600)
    assert await ledger.reserve(GLOBAL, DAY, 401, 1000, 0) is None  # 1001 > 1000
    assert await ledger.reserve(GLOBAL, DAY, 400, 1000, 50) is None  # the floor is not ours
    held = await reserve(ledger, 350, floor=50)  # exactly limit - floor
    assert await ledger.reserve(GLOBAL, DAY, 1, 1000, 50) is None
    last = await reserve(ledger, 50, floor=0)  # critical traffic may use the floor
    assert await ledger.reserve(GLOBAL, DAY, 1, 1000, 0) is None
    assert await ledger.reserve(GLOBAL, DAY, 0, 1000, 0) is not None  # nothing more is fine
    await ledger.commit(held, 350)
    await ledger.release(last)
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 350, 600)


async def test_commit_more_than_estimated(ledger: RedisLedger) -> None:
    r = await reserve(ledger, 100)
    await ledger.commit(r, 900)
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 900, 0)
    assert await ledger.reserve(GLOBAL, DAY, 101, 1000, 0) is None
    r = await reserve(ledger, 100)
    await ledger.commit(r, 500)  # over the limit: spent is what was spent
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 1400, 0)
    assert await ledger.reserve(GLOBAL, DAY, 0, 1000, 0) is None


async def test_release_never_drives_reserved_negative(ledger: RedisLedger) -> None:
    a = await reserve(ledger, 100)
    b = await reserve(ledger, 40)
    await ledger.release(a)
    await ledger.release(a)  # twice: b's hold is untouched
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 40)
    await ledger.release(Reservation(GLOBAL, DAY, 500, "never-reserved"))
    await ledger.commit(b, 10)
    await ledger.release(b)  # after commit
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 10, 0)
    # A hold the key never had (e.g. Redis lost its data): spent counts, reserved stays 0.
    await ledger.commit(Reservation(GLOBAL, "2026-11-22", 70, "lost"), 30)
    assert await ledger.state(GLOBAL, "2026-11-22", 1000) == BudgetState(1000, 30, 0)


async def test_negative_actual_counts_as_zero_and_bad_amounts_are_refused(
    ledger: RedisLedger,
) -> None:
    r = await reserve(ledger, 100)
    await ledger.commit(r, -5)
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 0)
    with pytest.raises(ValueError, match="amount_micros"):
        await ledger.reserve(GLOBAL, DAY, -1, 1000, 0)
    with pytest.raises(ValueError, match="amount_micros"):
        await ledger.reserve(GLOBAL, DAY, 2**53, 2**53, 0)


async def test_large_integers_stay_exact(ledger: RedisLedger) -> None:
    limit = 2**53 - 1
    r = await ledger.reserve(GLOBAL, DAY, limit - 1, limit, 0)
    assert r is not None
    await reserve(ledger, 1, limit=limit)
    assert await ledger.reserve(GLOBAL, DAY, 1, limit, 0) is None
    await ledger.commit(r, limit - 3)
    assert await ledger.state(GLOBAL, DAY, limit) == BudgetState(limit, limit - 3, 1)


async def _race(ledgers: list[RedisLedger], sampler: RedisLedger) -> list[Reservation | None]:
    """64 reservations of 100 against a limit of 1000, spread over ``ledgers``, while
    ``sampler`` watches that the total held never exceeds the limit."""
    done = asyncio.Event()
    samples: list[BudgetState] = []

    async def watch() -> None:
        while not done.is_set():
            samples.append(await sampler.state(GLOBAL, DAY, 1000))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(
        *(ledgers[i % len(ledgers)].reserve(GLOBAL, DAY, 100, 1000, 0) for i in range(64))
    )
    done.set()
    await watcher
    assert samples
    assert all(s.spent_micros + s.reserved_micros <= 1000 for s in samples)
    return results


async def test_concurrent_reservations_one_replica(ledger: RedisLedger) -> None:
    results = await _race([ledger], ledger)
    assert sum(r is not None for r in results) == 10
    assert len({r.id for r in results if r is not None}) == 10
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 1000)


async def test_concurrent_reservations_two_replicas(redis_url: str) -> None:
    replicas = [RedisLedger(redis_url, key_prefix="t") for _ in range(2)]
    try:
        results = await _race(replicas, replicas[1])
        assert sum(r is not None for r in results) == 10
        for i, r in enumerate(results):  # settle each on the other replica
            if r is not None:
                await replicas[(i + 1) % 2].commit(r, 50)
        assert await replicas[0].state(GLOBAL, DAY, 1000) == BudgetState(1000, 500, 0)
    finally:
        for replica in replicas:
            await replica.aclose()


async def test_days_and_scopes_are_independent_and_expire(redis_url: str) -> None:
    ledger = RedisLedger(redis_url, key_prefix="t", ttl_s=600)
    try:
        await ledger.commit(await reserve(ledger, 1000), 1000)
        assert await ledger.reserve(GLOBAL, DAY, 1, 1000, 0) is None
        other_day = await ledger.reserve(GLOBAL, "2026-11-22", 1000, 1000, 0)
        tenant = await ledger.reserve("tenant:acme", DAY, 1000, 1000, 0)
        assert other_day is not None and tenant is not None
        assert await ledger.state("tenant:acme", DAY, 1000) == BudgetState(1000, 0, 1000)
        assert await ledger.state("tenant:other", DAY, 1000) == BudgetState(1000, 0, 0)
        await ledger.release(tenant)
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            keys = sorted(map(str, await client.keys("*")))
            assert keys == [
                "t:budget:global:2026-11-21",
                "t:budget:global:2026-11-22",
                "t:budget:tenant:acme:2026-11-21",
            ]
            for key in keys:
                assert 0 < await client.ttl(key) <= 600
        finally:
            await client.aclose()
    finally:
        await ledger.aclose()


async def test_script_cache_flushed_reloads(redis_url: str, ledger: RedisLedger) -> None:
    await reserve(ledger, 10)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.script_flush()
    finally:
        await client.aclose()
    await ledger.commit(await reserve(ledger, 10), 5)  # NOSCRIPT → SCRIPT LOAD → EVALSHA
    assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 5, 10)


async def test_redis_down_then_back(redis_private: RedisServer) -> None:
    ledger = RedisLedger(redis_private.url, socket_timeout_s=0.2)
    try:
        held = await reserve(ledger, 100)
        redis_private.stop()
        async with asyncio.timeout(5):  # bounded: no retries with backoff
            for call in (
                ledger.reserve(GLOBAL, DAY, 1, 1000, 0),
                ledger.commit(held, 10),
                ledger.release(held),
                ledger.state(GLOBAL, DAY, 1000),
            ):
                with pytest.raises(BudgetUnavailable) as info:
                    await call
                assert isinstance(info.value, RoutingError)
                assert info.value.code == "budget_unavailable"
                assert info.value.__cause__ is not None
        redis_private.start()  # same URL, empty, no scripts loaded
        await ledger.commit(await reserve(ledger, 100), 60)
        assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 60, 0)
    finally:
        await ledger.aclose()


async def test_redis_hung_times_out(redis_private: RedisServer) -> None:
    ledger = RedisLedger(redis_private.url, socket_timeout_s=0.2)
    try:
        await reserve(ledger, 100)
        redis_private.pause()
        async with asyncio.timeout(5):
            with pytest.raises(BudgetUnavailable, match="Timeout"):
                await ledger.state(GLOBAL, DAY, 1000)
        redis_private.resume()
        assert await ledger.state(GLOBAL, DAY, 1000) == BudgetState(1000, 0, 100)
    finally:
        await ledger.aclose()


async def test_unreachable_from_the_start() -> None:
    ledger = RedisLedger(f"redis://127.0.0.1:{free_port()}/0", socket_timeout_s=0.2)
    try:
        with pytest.raises(BudgetUnavailable):
            await ledger.reserve(GLOBAL, DAY, 1, 1000, 0)
    finally:
        await ledger.aclose()
