"""The daily budget: ledgers (one protocol), the budget day, and the tier policy.

Money is counted in integer micro-USD so a shared ledger never drifts. Before a call its
estimated cost is reserved (atomically); afterwards the actual cost is committed and the rest
refunded; a failed call refunds everything. The remaining fraction of the day's budget gives the
tier: quality (> 80 %), balanced (20–80 %), economy (< 20 %), exhausted (only the reserve left).

Every hold is a lease (``hold_lease_s``): one that is neither committed nor released in time — its
replica crashed, or a task was lost — stops counting, so the budget it held comes back. A commit
after the lease still counts what was spent.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from router.config import BudgetConfig
from router.types import BudgetTier, PriorityClass, Reservation

MICROS = 1_000_000
HOLD_LEASE_S = 600.0  # longer than any request may take (service.request_timeout_s + a stream)
_ORDER = (BudgetTier.QUALITY, BudgetTier.BALANCED, BudgetTier.ECONOMY, BudgetTier.EXHAUSTED)


def to_micros(usd: float) -> int:
    return max(0, round(usd * MICROS))


@dataclass(frozen=True, slots=True)
class BudgetState:
    limit_micros: int
    spent_micros: int
    reserved_micros: int

    @property
    def remaining_fraction(self) -> float:
        if self.limit_micros <= 0:
            return 1.0
        left = self.limit_micros - self.spent_micros - self.reserved_micros
        return max(0.0, left / self.limit_micros)


class Ledger(Protocol):
    async def reserve(
        self, scope: str, day: str, amount_micros: int, limit_micros: int, floor_micros: int
    ) -> Reservation | None:
        """Atomically: if spent + reserved + amount <= limit - floor, hold ``amount``."""
        ...

    async def commit(self, reservation: Reservation, actual_micros: int) -> None:
        """Atomically: release the hold and add ``actual`` to what was spent."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Atomically: release the hold (a failed call refunds)."""
        ...

    async def state(self, scope: str, day: str, limit_micros: int) -> BudgetState: ...

    @property
    def failovers(self) -> int:
        """Operations a local stand-in served because this ledger was unreachable."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Day:
    spent: int = 0
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)  # id → (amount, expires)

    def sweep(self, now: float) -> int:
        """Drop the holds whose lease ran out; the micro-USD still held."""
        for rid in [r for r, (_, until) in self.holds.items() if until <= now]:
            del self.holds[rid]
        return sum(amount for amount, _ in self.holds.values())


class MemoryLedger:
    """The embedded ledger: one process, exact, no I/O."""

    failovers = 0  # nothing to fail over from

    def __init__(
        self,
        *,
        local: bool = False,
        hold_lease_s: float = HOLD_LEASE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._days: dict[tuple[str, str], _Day] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._local = local
        self.hold_lease_s = hold_lease_s
        self.clock = clock

    async def reserve(
        self, scope: str, day: str, amount_micros: int, limit_micros: int, floor_micros: int
    ) -> Reservation | None:
        with self._lock:
            now = self.clock()
            totals = self._days.setdefault((scope, day), _Day())
            if totals.spent + totals.sweep(now) + amount_micros > limit_micros - floor_micros:
                return None
            rid = f"m{next(self._ids)}"
            totals.holds[rid] = (amount_micros, now + self.hold_lease_s)
        return Reservation(scope, day, amount_micros, rid, local=self._local)

    async def commit(self, reservation: Reservation, actual_micros: int) -> None:
        with self._lock:
            totals = self._days.setdefault((reservation.scope, reservation.day), _Day())
            totals.spent += max(0, actual_micros)
            totals.holds.pop(reservation.id, None)

    async def release(self, reservation: Reservation) -> None:
        await self.commit(reservation, 0)

    async def state(self, scope: str, day: str, limit_micros: int) -> BudgetState:
        with self._lock:
            totals = self._days.get((scope, day)) or _Day()
            return BudgetState(limit_micros, totals.spent, totals.sweep(self.clock()))

    async def aclose(self) -> None:
        return None


def budget_day(now: datetime, reset_hour_utc: int) -> str:
    """The budget day ``now`` (UTC) falls in, when days start at ``reset_hour_utc``."""
    return (now - timedelta(hours=reset_hour_utc)).date().isoformat()


class TierPolicy:
    """Remaining fraction → tier, with hysteresis so traffic at a boundary does not flap.

    Going down is immediate; going back up needs the fraction to clear the boundary by
    ``hysteresis``. ``low`` traffic is one tier worse; ``critical`` may use the reserve.
    """

    def __init__(self, config: BudgetConfig) -> None:
        self.config = config
        self._last: dict[str, BudgetTier] = {}

    def _raw(self, fraction: float, last: BudgetTier | None, critical: bool) -> BudgetTier:
        c = self.config

        def above(bound: float, tier: BudgetTier) -> bool:
            upgrade = last is not None and _ORDER.index(tier) < _ORDER.index(last)
            return fraction > bound + (c.hysteresis if upgrade else 0.0)

        if fraction <= 0 or (not critical and fraction <= c.reserve_fraction):
            return BudgetTier.EXHAUSTED
        if above(c.quality_above, BudgetTier.QUALITY):
            return BudgetTier.QUALITY
        if above(c.economy_below, BudgetTier.BALANCED):
            return BudgetTier.BALANCED
        if critical or above(c.reserve_fraction, BudgetTier.ECONOMY):
            return BudgetTier.ECONOMY
        return last or BudgetTier.EXHAUSTED

    def tier(self, scope: str, fraction: float, priority: PriorityClass) -> BudgetTier:
        critical = priority is PriorityClass.CRITICAL
        tier = self._raw(fraction, self._last.get(scope), critical)
        if not critical:
            self._last[scope] = tier
        if priority is PriorityClass.LOW and tier is not BudgetTier.EXHAUSTED:
            return _ORDER[_ORDER.index(tier) + 1]
        return tier
