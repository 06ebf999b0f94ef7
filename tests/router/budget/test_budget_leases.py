"""Budget holds are leases: a reservation its replica never settled (it crashed) stops counting
once its lease ends, on the embedded ledger and on a ledger shared through a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from router.budget.ledger import BudgetState, Ledger, MemoryLedger
from router.budget.redis_ledger import RedisLedger

DAY = "2026-11-21"


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_000_000.0

    def __call__(self) -> float:
        return self.now


LedgerFactory = Callable[[], Ledger]


@pytest.fixture(params=["memory", "redis"])
async def replicas(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[LedgerFactory, Clock]]:
    """Build ledgers that share one budget (one process's, or one Redis) and one clock."""
    clock = Clock()
    made: list[Ledger] = []
    if request.param == "memory":
        shared = MemoryLedger(hold_lease_s=60, clock=clock)

        def factory() -> Ledger:
            return shared
    else:
        url = request.getfixturevalue("redis_url")

        def factory() -> Ledger:
            made.append(RedisLedger(url, key_prefix="lease", hold_lease_s=60, clock=clock))
            return made[-1]

    yield factory, clock
    for ledger in made:
        await ledger.aclose()


async def test_a_crashed_replicas_holds_come_back_after_their_lease(
    replicas: tuple[LedgerFactory, Clock],
) -> None:
    factory, clock = replicas
    crashed, alive = factory(), factory()
    for _ in range(3):
        assert await crashed.reserve("global", DAY, 300, 1000, 0) is not None
    # the replica dies holding 900 of 1000: nothing else fits
    assert await alive.reserve("global", DAY, 200, 1000, 0) is None
    clock.now += 59
    assert await alive.state("global", DAY, 1000) == BudgetState(1000, 0, 900)
    clock.now += 2
    assert await alive.state("global", DAY, 1000) == BudgetState(1000, 0, 0)
    assert await alive.reserve("global", DAY, 200, 1000, 0) is not None


async def test_a_live_hold_still_counts_and_a_late_commit_still_spends(
    replicas: tuple[LedgerFactory, Clock],
) -> None:
    factory, clock = replicas
    ledger = factory()
    slow = await ledger.reserve("global", DAY, 400, 1000, 0)
    assert slow is not None
    clock.now += 30
    fresh = await ledger.reserve("global", DAY, 500, 1000, 0)
    assert fresh is not None
    clock.now += 31  # the first hold's lease ended, the second's did not
    assert await ledger.state("global", DAY, 1000) == BudgetState(1000, 0, 500)
    await ledger.commit(slow, 350)  # the call did finish: what it cost is counted
    await ledger.release(slow)  # and settling twice changes nothing
    assert await ledger.state("global", DAY, 1000) == BudgetState(1000, 350, 500)
    await ledger.commit(fresh, 100)
    assert await ledger.state("global", DAY, 1000) == BudgetState(1000, 450, 0)
