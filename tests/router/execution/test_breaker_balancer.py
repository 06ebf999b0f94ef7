"""Circuit breaker transitions and load balancing, with an injected clock."""

from __future__ import annotations

import random
from collections import Counter

from router.config.settings import BreakerConfig
from router.execution.balancer import Balancer, Deployment
from router.execution.breakers import BreakerRegistry, BreakerState, CircuitBreaker
from tests.clock import Clock


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(failures=3, window_s=60, cooldown_s=30), clock)


def test_opens_after_three_failures_in_the_window() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    for _ in range(2):
        b.record_failure()
        assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert not b.acquire()


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    clock.now += 61
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_a_success_resets_the_consecutive_count() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through_then_closes_on_success() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 29.9
    assert not b.acquire()
    clock.now += 0.2
    assert b.state is BreakerState.HALF_OPEN
    assert b.acquire()  # the probe
    assert not b.acquire()  # nobody else while it is out
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert b.acquire()


def test_a_failed_probe_reopens_for_another_cooldown() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 31
    assert b.acquire()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now += 29
    assert not b.acquire()
    clock.now += 2
    assert b.acquire()


def test_a_released_probe_frees_the_slot() -> None:
    clock = Clock(1000.0)
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 31
    assert b.acquire()
    b.release()  # e.g. the client's own bad request: no verdict on the upstream
    assert b.acquire()


def test_forced_state_overrides() -> None:
    b = breaker(Clock(1000.0))
    b.forced = BreakerState.OPEN
    assert not b.acquire()
    b.forced = None
    assert b.acquire()


async def test_registry_creates_one_breaker_per_deployment() -> None:
    reg = BreakerRegistry(BreakerConfig(), Clock(1000.0))
    assert reg.get("a") is reg.get("a")
    await reg.record_failure("b")
    assert await reg.states() == {"a": BreakerState.CLOSED, "b": BreakerState.CLOSED}
    await reg.force("a", BreakerState.OPEN)
    assert not await reg.acquire("a")


DEPS = [Deployment("m", "p1", "u", weight=3.0), Deployment("m", "p2", "u", weight=1.0)]


def test_weighted_random_follows_weights() -> None:
    bal = Balancer("weighted", rng=random.Random(0))
    firsts = Counter(bal.order(DEPS)[0].provider for _ in range(4000))
    assert 0.70 < firsts["p1"] / 4000 < 0.80
    assert all(len(bal.order(DEPS)) == 2 for _ in range(10))


def test_round_robin_rotates() -> None:
    bal = Balancer("round_robin")
    assert [bal.order(DEPS)[0].provider for _ in range(4)] == ["p1", "p2", "p1", "p2"]


def test_least_latency_prefers_unmeasured_then_fastest() -> None:
    bal = Balancer("least_latency")
    bal.observe(DEPS[0], 0.5)
    assert bal.order(DEPS)[0].provider == "p2"  # never measured: tried first
    bal.observe(DEPS[1], 0.9)
    assert bal.order(DEPS)[0].provider == "p1"
    for _ in range(10):
        bal.observe(DEPS[0], 2.0)  # EWMA catches up with a slowdown
    assert bal.order(DEPS)[0].provider == "p2"


def test_rate_limited_deployment_cools_down_for_retry_after() -> None:
    clock = Clock(1000.0)
    bal = Balancer("round_robin", clock=clock)
    bal.cool_down(DEPS[0], 2.0)
    assert [d.provider for d in bal.order(DEPS)] == ["p2"]
    clock.now += 2.1
    assert len(bal.order(DEPS)) == 2
