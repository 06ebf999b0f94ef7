"""Budget: the memory ledger, the budget day, the tier policy, admission and fail-over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from router.budget.ledger import BudgetState, MemoryLedger, TierPolicy, budget_day
from router.budget.spending import FailoverLedger, Spending
from router.config.settings import BudgetConfig
from router.errors import BudgetExhausted, BudgetUnavailable
from router.types import BudgetTier, PriorityClass, Reservation
from tests.clock import DateClock

Q, B, E, X = BudgetTier.QUALITY, BudgetTier.BALANCED, BudgetTier.ECONOMY, BudgetTier.EXHAUSTED
STD, LOW, CRIT = PriorityClass.STANDARD, PriorityClass.LOW, PriorityClass.CRITICAL


async def test_memory_ledger_reserve_commit_release() -> None:
    ledger = MemoryLedger()
    held = await ledger.reserve("global", "d", 300, limit_micros=1000, floor_micros=0)
    assert held is not None
    assert await ledger.state("global", "d", 1000) == BudgetState(1000, 0, 300)
    await ledger.commit(held, 250)
    assert await ledger.state("global", "d", 1000) == BudgetState(1000, 250, 0)
    held = await ledger.reserve("global", "d", 700, 1000, 0)
    assert held is not None
    await ledger.release(held)
    assert await ledger.state("global", "d", 1000) == BudgetState(1000, 250, 0)
    assert await ledger.reserve("global", "d", 751, 1000, 0) is None
    assert await ledger.reserve("global", "d", 700, 1000, floor_micros=100) is None


async def test_64_concurrent_reservations_never_overspend() -> None:
    ledger = MemoryLedger()
    results = await asyncio.gather(
        *(ledger.reserve("global", "d", 100, 1000, 0) for _ in range(64))
    )
    assert sum(r is not None for r in results) == 10
    assert (await ledger.state("global", "d", 1000)).reserved_micros == 1000


def test_budget_day_and_reset_hour() -> None:
    t = datetime(2026, 11, 21, 5, 30, tzinfo=UTC)
    assert budget_day(t, 0) == "2026-11-21"
    assert budget_day(t, 6) == "2026-11-20"  # before 06:00 UTC it is still yesterday's budget
    assert budget_day(t + timedelta(hours=1), 6) == "2026-11-21"


@pytest.mark.parametrize(
    ("fraction", "priority", "tier"),
    [
        (1.0, STD, Q),
        (0.81, STD, Q),
        (0.8, STD, B),
        (0.5, STD, B),
        (0.2, STD, E),
        (0.06, STD, E),
        (0.05, STD, X),
        (0.0, STD, X),
        (0.9, LOW, B),
        (0.5, LOW, E),
        (0.1, LOW, X),
        (0.04, CRIT, E),
        (0.0, CRIT, X),
    ],
)
def test_tiers_from_the_remaining_fraction(
    fraction: float, priority: PriorityClass, tier: BudgetTier
) -> None:
    assert TierPolicy(BudgetConfig(daily_usd=10)).tier("s", fraction, priority) is tier


def test_hysteresis_stops_flapping_at_a_boundary() -> None:
    policy = TierPolicy(BudgetConfig(daily_usd=10, hysteresis=0.02))
    assert policy.tier("s", 0.79, STD) is B
    # Back above 0.80 by a hair (a refund): still balanced until it clears 0.82.
    assert policy.tier("s", 0.805, STD) is B
    assert policy.tier("s", 0.815, STD) is B
    assert policy.tier("s", 0.83, STD) is Q
    # Going down is immediate.
    assert policy.tier("s", 0.79, STD) is B


async def test_spending_reserve_is_for_critical_and_retries() -> None:
    spending = Spending(BudgetConfig(daily_usd=1.0, reserve_fraction=0.1))
    held = await spending.admit("default", 0.85, STD, retry=False)
    await spending.settle(held, 0.85)
    with pytest.raises(BudgetExhausted):
        await spending.admit("default", 0.1, STD, retry=False)  # would eat into the reserve
    assert await spending.admit("default", 0.1, CRIT, retry=False) is not None
    assert await spending.admit("default", 0.04, STD, retry=True) is not None
    with pytest.raises(BudgetExhausted):
        await spending.admit("default", 0.02, CRIT, retry=False)  # nothing at all left


async def test_settle_bills_actual_and_tracks_estimate_error() -> None:
    spending = Spending(BudgetConfig(daily_usd=1.0))
    held = await spending.admit("default", 0.10, STD, retry=False)
    await spending.settle(held, 0.04)
    view = await spending.view("default", STD)
    assert view.state.spent_micros == 40_000
    assert view.state.reserved_micros == 0
    assert list(spending.estimate_ratios) == [pytest.approx(0.4)]
    held = await spending.admit("default", 0.10, STD, retry=False)
    await spending.refund(held)
    assert (await spending.view("default", STD)).state.spent_micros == 40_000


async def test_day_rollover_resets_the_budget() -> None:
    clock = DateClock(datetime(2026, 11, 21, 23, 59, tzinfo=UTC))
    spending = Spending(BudgetConfig(daily_usd=1.0), clock=clock)
    await spending.settle(await spending.admit("default", 0.99, CRIT, retry=False), 0.99)
    assert (await spending.view("default", STD)).tier is X
    clock.now += timedelta(minutes=2)  # past midnight UTC
    view = await spending.view("default", STD)
    assert view.tier is Q
    assert view.remaining_fraction == 1.0


async def test_tenants_have_their_own_budget() -> None:
    spending = Spending(BudgetConfig(daily_usd=10.0, tenants={"acme": 1.0}))
    await spending.settle(await spending.admit("acme", 0.99, CRIT, retry=False), 0.99)
    assert (await spending.view("acme", STD)).tier is X
    assert (await spending.view("other", STD)).tier is Q


async def test_no_budget_configured_means_no_admission() -> None:
    spending = Spending(BudgetConfig())
    assert not spending.enabled
    assert await spending.admit("default", 100.0, STD, retry=False) is None
    assert (await spending.view("default", STD)).tier is Q


class DownLedger(MemoryLedger):
    async def reserve(self, *a: object, **kw: object) -> Reservation | None:
        raise BudgetUnavailable("redis down")

    async def state(self, *a: object, **kw: object) -> BudgetState:
        raise BudgetUnavailable("redis down")


async def test_fail_open_uses_a_local_ledger_and_counts_it() -> None:
    ledger = FailoverLedger(DownLedger(), fail_open=True)
    spending = Spending(BudgetConfig(daily_usd=1.0), ledger)
    held = await spending.admit("default", 0.5, STD, retry=False)
    assert held is not None and held.local
    await spending.settle(held, 0.5)
    assert ledger.failovers == 1  # the settle went straight to the local ledger
    assert (await spending.view("default", STD)).state.spent_micros == 500_000


async def test_fail_closed_refuses() -> None:
    spending = Spending(BudgetConfig(daily_usd=1.0), FailoverLedger(DownLedger(), fail_open=False))
    with pytest.raises(BudgetUnavailable):
        await spending.admit("default", 0.5, STD, retry=False)
    with pytest.raises(BudgetUnavailable):
        await spending.view("default", STD)
