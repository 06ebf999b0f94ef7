"""RedisBreakers against a real redis-server: one contract with the in-process BreakerRegistry,
then what only shared state can show (two replicas on one Redis), layout, and Redis failures."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from router.config.settings import BreakerConfig
from router.execution.breakers import BreakerRegistry, Breakers, BreakerState
from router.execution.redis_breakers import RedisBreakers
from tests.clock import Clock
from tests.redis_server import RedisServer, free_port

CONFIG = BreakerConfig(failures=3, window_s=60, cooldown_s=30)
DEP = "openai/gpt-x#0"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_763_000_000.25)


@pytest.fixture
async def replicas(redis_url: str, clock: Clock) -> AsyncIterator[tuple[RedisBreakers, ...]]:
    made = tuple(RedisBreakers(redis_url, CONFIG, key_prefix="t", clock=clock) for _ in range(2))
    yield made
    for breakers in made:
        await breakers.aclose()


@pytest.fixture(params=["memory", "redis"])
async def one(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Breakers]:
    """Each implementation as a single replica: both are held to the same contract."""
    if request.param == "memory":
        yield BreakerRegistry(CONFIG, clock)
        return
    url = request.getfixturevalue("redis_url")
    breakers = RedisBreakers(url, CONFIG, key_prefix="t", clock=clock)
    yield breakers
    await breakers.aclose()


async def fail(b: Breakers, n: int, dep: str = DEP) -> None:
    for _ in range(n):
        await b.record_failure(dep)


# --- the contract, for both implementations ---------------------------------------------------


async def test_opens_after_consecutive_failures(one: Breakers) -> None:
    await fail(one, 2)
    assert await one.available(DEP)
    await fail(one, 1)
    assert not await one.available(DEP)
    assert not await one.acquire(DEP)
    assert (await one.states())[DEP] is BreakerState.OPEN


async def test_failures_outside_the_window_do_not_add_up(one: Breakers, clock: Clock) -> None:
    await fail(one, 2)
    clock.now += 61
    await fail(one, 2)
    assert await one.acquire(DEP)
    await fail(one, 1)  # three within 60 s
    assert not await one.acquire(DEP)


async def test_a_success_resets_the_consecutive_count(one: Breakers) -> None:
    await fail(one, 2)
    await one.record_success(DEP)
    await fail(one, 2)
    assert (await one.states())[DEP] is BreakerState.CLOSED
    assert await one.acquire(DEP)


async def test_half_open_lets_one_probe_through_and_success_closes(
    one: Breakers, clock: Clock
) -> None:
    await fail(one, 3)
    clock.now += 29.9
    assert not await one.acquire(DEP)
    clock.now += 0.2
    assert (await one.states())[DEP] is BreakerState.HALF_OPEN
    assert await one.available(DEP)  # asking does not take the slot
    assert await one.acquire(DEP)  # the probe
    assert not await one.available(DEP)
    assert not await one.acquire(DEP)
    await one.record_success(DEP)
    assert (await one.states())[DEP] is BreakerState.CLOSED
    assert await one.acquire(DEP)
    assert await one.acquire(DEP)


async def test_a_failed_probe_reopens_for_another_cooldown(one: Breakers, clock: Clock) -> None:
    await fail(one, 3)
    clock.now += 31
    assert await one.acquire(DEP)
    await fail(one, 1)
    assert (await one.states())[DEP] is BreakerState.OPEN
    clock.now += 29
    assert not await one.acquire(DEP)
    clock.now += 2
    assert await one.acquire(DEP)


async def test_a_released_probe_frees_the_slot(one: Breakers, clock: Clock) -> None:
    await fail(one, 3)
    clock.now += 31
    assert await one.acquire(DEP)
    await one.release(DEP)  # no verdict on the upstream (e.g. the client's bad request)
    assert await one.acquire(DEP)
    assert not await one.acquire(DEP)


async def test_forced_state_overrides_the_automaton(one: Breakers) -> None:
    await one.force(DEP, BreakerState.OPEN)
    assert not await one.acquire(DEP)
    assert (await one.states())[DEP] is BreakerState.OPEN
    await one.force(DEP, None)
    assert await one.acquire(DEP)
    await fail(one, 3)
    await one.force(DEP, BreakerState.CLOSED)
    assert await one.acquire(DEP)
    assert await one.acquire(DEP)
    await one.force(DEP, None)
    assert not await one.acquire(DEP)  # back to the automaton: still open


async def test_deployments_are_independent(one: Breakers) -> None:
    await fail(one, 3, "a")
    await one.record_failure("b")
    assert not await one.acquire("a")
    assert await one.acquire("b")
    assert await one.states() == {"a": BreakerState.OPEN, "b": BreakerState.CLOSED}


@pytest.mark.parametrize("seed", range(3))
async def test_random_walks_match_the_in_process_automaton(
    redis_url: str, clock: Clock, seed: int
) -> None:
    """Step for step, a random sequence of calls answers the same on both implementations."""
    rng = random.Random(seed)
    memory = BreakerRegistry(CONFIG, clock, probe_lease_s=1e9)
    shared = RedisBreakers(redis_url, CONFIG, clock=clock, probe_lease_s=1e9)
    forced = [BreakerState.OPEN, BreakerState.CLOSED, BreakerState.HALF_OPEN, None]
    try:
        for step in range(400):
            dep, op = rng.choice("ab"), rng.randrange(9)
            if op == 0:
                clock.now += rng.choice([0.5, 5, 20, 31, 61])
            elif op == 1 and rng.random() < 0.2:
                state = rng.choice(forced)
                await memory.force(dep, state)
                await shared.force(dep, state)
            else:
                name = ["available", "acquire", "record_success", "release"][op % 4]
                name = "record_failure" if op >= 6 else name
                got = await getattr(shared, name)(dep), await getattr(memory, name)(dep)
                assert got[0] == got[1], (step, dep, name)
            mine, theirs = await shared.states(), await memory.states()
            for d in "ab":
                assert mine.get(d, BreakerState.CLOSED) == theirs.get(d, BreakerState.CLOSED)
    finally:
        await shared.aclose()


# --- shared by replicas ----------------------------------------------------------------------


async def test_failures_on_both_replicas_add_up(replicas: tuple[RedisBreakers, ...]) -> None:
    a, b = replicas
    await fail(a, 2)
    assert await b.available(DEP)
    await fail(b, 1)
    assert not await a.acquire(DEP)
    assert not await b.acquire(DEP)


async def test_only_one_replica_gets_the_probe(
    replicas: tuple[RedisBreakers, ...], clock: Clock
) -> None:
    a, b = replicas
    await fail(a, 3)
    clock.now += 31
    got = await asyncio.gather(*(replicas[i % 2].acquire(DEP) for i in range(40)))
    assert sum(t is not None for t in got) == 1
    assert not await a.available(DEP)
    assert not await b.available(DEP)


async def test_probe_verdicts_are_seen_by_the_other_replica(
    replicas: tuple[RedisBreakers, ...], clock: Clock
) -> None:
    a, b = replicas
    await fail(a, 3)
    clock.now += 31
    assert await b.acquire(DEP)
    await b.record_success(DEP)
    assert (await a.states())[DEP] is BreakerState.CLOSED
    assert await a.acquire(DEP)
    await fail(b, 3)
    clock.now += 31
    assert await a.acquire(DEP)
    await a.record_failure(DEP)  # failed probe: open again, for both
    assert not await b.acquire(DEP)
    assert (await b.states())[DEP] is BreakerState.OPEN


async def test_force_is_shared(replicas: tuple[RedisBreakers, ...]) -> None:
    a, b = replicas
    await a.force(DEP, BreakerState.OPEN)
    assert not await b.acquire(DEP)
    await fail(b, 3)
    await b.force(DEP, BreakerState.CLOSED)
    assert await a.acquire(DEP)
    await a.force(DEP, None)
    assert not await b.acquire(DEP)


async def test_a_probe_held_by_a_dead_replica_is_freed_after_its_lease(
    redis_url: str, clock: Clock
) -> None:
    a = RedisBreakers(redis_url, CONFIG, clock=clock, probe_lease_s=10)
    b = RedisBreakers(redis_url, CONFIG, clock=clock, probe_lease_s=10)
    try:
        await fail(a, 3)
        clock.now += 31
        assert await a.acquire(DEP)  # ...and a never comes back
        clock.now += 9
        assert not await b.acquire(DEP)
        clock.now += 1
        assert await b.acquire(DEP)
        assert not await a.acquire(DEP)
    finally:
        await a.aclose()
        await b.aclose()


async def test_key_layout_and_ttl(replicas: tuple[RedisBreakers, ...], redis_url: str) -> None:
    a, _ = replicas
    await a.record_success("clean")  # nothing to reset: nothing written
    await a.available("asked")  # reads write nothing either
    await a.record_failure("p:d*1")
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.keys("*") == ["t:breaker:p:d*1"]
        assert 0 < await client.ttl("t:breaker:p:d*1") <= 86_400
        assert list(await a.states()) == ["p:d*1"]
        await a.force("p:d*1", BreakerState.OPEN)
        assert await client.ttl("t:breaker:p:d*1") == -1  # an override does not expire
        await a.force("p:d*1", None)
        assert 0 < await client.ttl("t:breaker:p:d*1") <= 86_400
    finally:
        await client.aclose()


async def test_script_cache_flushed_reloads(
    replicas: tuple[RedisBreakers, ...], redis_url: str
) -> None:
    a, b = replicas
    await fail(a, 1)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.script_flush()
    finally:
        await client.aclose()
    await fail(b, 2)  # NOSCRIPT → SCRIPT LOAD → EVALSHA
    assert not await a.acquire(DEP)
    assert a.errors == b.errors == 0


# --- Redis failures --------------------------------------------------------------------------


async def test_redis_down_falls_back_then_recovers(redis_private: RedisServer) -> None:
    clock = Clock(1_763_000_000.25)
    a, b = (
        RedisBreakers(redis_private.url, CONFIG, socket_timeout_s=0.2, clock=clock, retry_s=5)
        for _ in range(2)
    )
    try:
        await fail(a, 3, "shared")
        redis_private.stop()
        async with asyncio.timeout(5):
            assert await a.acquire(DEP)  # fail-open: a fresh in-process breaker
            assert a.errors == 1
            await fail(a, 3)  # counted by the fallback, without asking Redis again
            assert a.errors == 1
            assert not await a.acquire(DEP)
            assert await a.acquire("shared")  # what Redis knew is not there
            assert await a.states() == {"shared": BreakerState.CLOSED, DEP: BreakerState.OPEN}
            await a.release(DEP)
            await a.record_success(DEP)
            await a.force("x", BreakerState.OPEN)
        redis_private.start()  # same URL, empty, no scripts loaded
        assert not await a.acquire("x")  # still within retry_s: the fallback answers
        clock.now += 5
        await a.force(DEP, BreakerState.OPEN)  # Redis again: shared
        assert not await b.acquire(DEP)
        assert await a.states() == {DEP: BreakerState.OPEN}
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_hung_is_asked_once_per_retry_period(redis_private: RedisServer) -> None:
    clock = Clock(1_763_000_000.25)
    b = RedisBreakers(redis_private.url, CONFIG, socket_timeout_s=0.2, clock=clock, retry_s=5)
    try:
        await fail(b, 3)
        redis_private.pause()
        async with asyncio.timeout(3):
            assert await b.acquire(DEP)  # one socket timeout, then the fallback
        for _ in range(20):
            assert await b.available(DEP)
        assert b.errors == 1  # not asked again while it is considered down
        redis_private.resume()
        clock.now += 5
        assert not await b.acquire(DEP)
        assert b.errors == 1
    finally:
        await b.aclose()


async def test_unreachable_from_the_start(clock: Clock) -> None:
    b = RedisBreakers(f"redis://127.0.0.1:{free_port()}/0", CONFIG, clock=clock, retry_s=0)
    try:
        assert await b.acquire(DEP)
        await b.record_failure(DEP)
        await b.record_success(DEP)
        await b.release(DEP)
        await b.force(DEP, None)
        assert await b.states() == {DEP: BreakerState.CLOSED}
        assert b.errors >= 5
    finally:
        await b.aclose()
