"""Property-style tests of the breaker state machine with many concurrent callers, in process and
shared through a real Redis: random outcomes (success, upstream failure, no verdict, a bug, a
cancellation), random latencies and a clock that moves on; seeds make every run repeatable.

Properties:
- at most one half-open probe is out at any moment (across replicas);
- the breaker only re-closes through a probe's success: opens − probe failures ≤ 1 + probe
  successes (a success of a call that started before it opened closes nothing);
- nothing wedges: once every caller is done, a cooled-down breaker lets a probe through, and
  that probe's success closes it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest

from router import errors as e
from router.config.settings import BreakerConfig
from router.execution.balancer import Balancer, Deployment
from router.execution.breakers import BreakerRegistry, Breakers, BreakerState, Ticket
from router.execution.calls import complete_call
from router.execution.fallback import FallbackChain
from router.execution.redis_breakers import RedisBreakers
from router.providers.base import Health, UpstreamCall
from router.providers.mock import MockProvider
from router.types import Candidate, Completion, ModelTier
from tests.router.execution.test_fallback import REQUEST, make_config

CONFIG = BreakerConfig(failures=3, window_s=60, cooldown_s=5)
DEP = "a@p1/a-up"
CALLERS = 48


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Tally:
    probes_out: int = 0
    most_probes_out: int = 0
    probe_successes: int = 0
    probe_failures: int = 0
    epochs: int = 0

    def took(self, ticket: Ticket) -> None:
        self.epochs = max(self.epochs, ticket.epoch)
        if ticket.probe:
            self.probes_out += 1
            self.most_probes_out = max(self.most_probes_out, self.probes_out)

    def settled(self, ticket: Ticket, outcome: str) -> None:
        if ticket.probe:
            self.probes_out -= 1  # before the verdict reaches the breaker: never undercounts
            self.probe_successes += outcome == "success"
            self.probe_failures += outcome == "failure"


@pytest.fixture(params=["memory", "redis"])
async def replicas(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Breakers, Clock]]:
    """Two callers' views of one breaker: the same registry, or two replicas on one Redis."""
    clock = Clock()
    if request.param == "memory":
        one = BreakerRegistry(CONFIG, clock, probe_lease_s=1e9)
        yield (one, one), clock  # type: ignore[misc]
        return
    url = request.getfixturevalue("redis_url")
    made = tuple(RedisBreakers(url, CONFIG, clock=clock, probe_lease_s=1e9) for _ in range(2))
    yield made, clock  # type: ignore[misc]
    for b in made:
        await b.aclose()


async def caller(
    breakers: Breakers, clock: Clock, rng: random.Random, tally: Tally, calls: int
) -> None:
    for _ in range(calls):
        await anyio.sleep(rng.random() * 0.002)
        ticket = await breakers.acquire(DEP)
        if ticket is None:
            if rng.random() < 0.3:
                clock.now += rng.choice([0.1, 1.0, 6.0])  # time passes: cooldowns end
            continue
        tally.took(ticket)
        await anyio.sleep(rng.random() * 0.004)  # in flight while others decide
        outcome = rng.choices(["success", "failure", "release"], [0.45, 0.45, 0.1])[0]
        tally.settled(ticket, outcome)
        if outcome == "success":
            await breakers.record_success(DEP, ticket)
        elif outcome == "failure":
            await breakers.record_failure(DEP, ticket)
        else:
            await breakers.release(DEP, ticket)


@pytest.mark.parametrize("seed", range(3))
async def test_many_concurrent_callers_keep_the_properties(
    replicas: tuple[tuple[Breakers, Breakers], Clock], seed: int
) -> None:
    (first, second), clock = replicas
    rng, tally = random.Random(seed), Tally()
    async with anyio.create_task_group() as tg:
        for i in range(CALLERS):
            b = first if i % 2 else second
            tg.start_soon(caller, b, clock, random.Random(rng.random()), tally, 20)
    assert tally.most_probes_out <= 1
    assert tally.epochs - tally.probe_failures <= 1 + tally.probe_successes
    assert tally.epochs > 1  # the walk did open and re-open the breaker
    await assert_not_wedged(first, clock)


async def assert_not_wedged(breakers: Breakers, clock: Clock) -> None:
    clock.now += CONFIG.cooldown_s + 1
    assert await breakers.available(DEP)
    ticket = await breakers.acquire(DEP)
    assert ticket is not None
    await breakers.record_success(DEP, ticket)
    assert (await breakers.states()).get(DEP, BreakerState.CLOSED) is BreakerState.CLOSED


# -- the same through the fallback chain: every path out of an attempt ---------------------------


class Chaotic:
    """Answers, fails (503), crashes (a bug) or hangs (the caller gives up), at random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ok = MockProvider("p1")

    @property
    def name(self) -> str:
        return "p1"

    async def complete(self, call: UpstreamCall) -> Completion:
        await anyio.sleep(self.rng.random() * 0.004)
        roll = self.rng.random()
        if roll < 0.35:
            raise e.ProviderUnavailable("503", provider="p1", model=call.model, status=503)
        if roll < 0.45:
            raise KeyError("a bug in a translation")
        if roll < 0.55:
            await anyio.sleep(10)  # cancelled by the caller's own timeout
        return await self.ok.complete(call)

    def stream(self, call: UpstreamCall):  # type: ignore[no-untyped-def]
        return self.ok.stream(call)

    async def health(self) -> Health:
        return Health(ok=True)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("seed", range(2))
async def test_the_chain_never_wedges_a_breaker(
    replicas: tuple[tuple[Breakers, Breakers], Clock], seed: int
) -> None:
    (first, second), clock = replicas
    config = make_config()
    rng = random.Random(seed)
    provider = Chaotic(rng)

    def chain(breakers: Breakers) -> FallbackChain:
        spec = config.models["a"]
        return FallbackChain(
            config,
            {"p1": provider},
            lambda m: [Deployment(m, spec.provider, spec.upstream)],
            breakers,
            Balancer("round_robin"),
            clock=clock,
        )

    chains = (chain(first), chain(second))

    async def one(i: int) -> None:
        for _ in range(10):
            with anyio.move_on_after(0.02):
                try:
                    await chains[i % 2].run(
                        REQUEST, [Candidate("a", "p1", ModelTier.STANDARD, "")], complete_call
                    )
                except (e.AllCandidatesFailed, KeyError):
                    clock.now += rng.choice([0.0, 0.5, 6.0])

    async with anyio.create_task_group() as tg:
        for i in range(CALLERS):
            tg.start_soon(one, i)
    await assert_not_wedged(first, clock)
