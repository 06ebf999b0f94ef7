"""Budget facade used by the router: views, admission per attempt, settlement, fail-over.

A request is admitted per attempt (every fallback hop re-checks the budget) and billed for the
model actually called. With a shared (Redis) ledger, an unreachable Redis either falls back to a
local in-process ledger (``fail_mode = "open"``, logged and counted) or refuses with a 503
(``"closed"``); it never crashes a request.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from router.budget.ledger import (
    MICROS,
    BudgetState,
    Ledger,
    MemoryLedger,
    TierPolicy,
    budget_day,
    to_micros,
)
from router.config import BudgetConfig, ModelConfig
from router.errors import BudgetExhausted, BudgetUnavailable
from router.types import BudgetTier, PriorityClass, Reservation, Usage

log = logging.getLogger("semroute.budget")


def cost_usd(model: ModelConfig, prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * model.input_price + completion_tokens * model.output_price) / 1e6


class FailoverLedger:
    """A shared ledger with a local stand-in for when it is unreachable (fail-open)."""

    def __init__(self, shared: Ledger, *, fail_open: bool, hold_lease_s: float = 600.0) -> None:
        self.shared = shared
        self.local = MemoryLedger(local=True, hold_lease_s=hold_lease_s)
        self.fail_open = fail_open
        self.failovers = 0  # operations the local ledger served because Redis was down

    def _fallback(self, op: str, exc: BudgetUnavailable) -> MemoryLedger:
        if not self.fail_open:
            raise exc
        self.failovers += 1
        log.warning(
            "budget ledger unreachable (%s): using the local ledger for %s",
            exc.__cause__ or exc,
            op,
        )
        return self.local

    async def reserve(
        self, scope: str, day: str, amount_micros: int, limit_micros: int, floor_micros: int
    ) -> Reservation | None:
        try:
            return await self.shared.reserve(scope, day, amount_micros, limit_micros, floor_micros)
        except BudgetUnavailable as exc:
            local = self._fallback("reserve", exc)
            return await local.reserve(scope, day, amount_micros, limit_micros, floor_micros)

    async def commit(self, reservation: Reservation, actual_micros: int) -> None:
        if reservation.local:
            return await self.local.commit(reservation, actual_micros)
        try:
            await self.shared.commit(reservation, actual_micros)
        except BudgetUnavailable as exc:
            # The hold stays in Redis until the day's key expires; the spend is kept locally.
            await self._fallback("commit", exc).commit(reservation, actual_micros)

    async def release(self, reservation: Reservation) -> None:
        if reservation.local:
            return await self.local.release(reservation)
        try:
            await self.shared.release(reservation)
        except BudgetUnavailable as exc:
            self._fallback("release", exc)

    async def state(self, scope: str, day: str, limit_micros: int) -> BudgetState:
        try:
            return await self.shared.state(scope, day, limit_micros)
        except BudgetUnavailable as exc:
            return await self._fallback("state", exc).state(scope, day, limit_micros)

    async def aclose(self) -> None:
        await self.shared.aclose()


@dataclass(frozen=True, slots=True)
class BudgetView:
    scope: str
    tier: BudgetTier
    remaining_fraction: float
    state: BudgetState


class Spending:
    """The day's budget for every scope (global, or a tenant with its own limit)."""

    def __init__(
        self,
        config: BudgetConfig,
        ledger: Ledger | None = None,
        *,
        key_limits: dict[str, float] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``ledger``: MemoryLedger by default; pass a FailoverLedger around a shared one."""
        self.config = config
        self.ledger: Ledger = ledger or MemoryLedger(hold_lease_s=config.hold_lease_s)
        self.key_limits = dict(key_limits or {})  # client key name → its own daily USD
        self.policy = TierPolicy(config)
        self.clock = clock
        self.estimate_ratios: deque[float] = deque(maxlen=1000)  # actual / estimate

    @property
    def enabled(self) -> bool:
        return self.config.daily_usd > 0 or bool(self.config.tenants) or bool(self.key_limits)

    def scope(self, who: str) -> tuple[str, int]:
        """(scope, limit) for a tenant name or ``key:<name>`` (a key with its own budget)."""
        name = who.removeprefix("key:")
        if who.startswith("key:") and name in self.key_limits:
            return who, to_micros(self.key_limits[name])
        tenant = who
        if tenant in self.config.tenants:
            return f"tenant:{tenant}", to_micros(self.config.tenants[tenant])
        return "global", to_micros(self.config.daily_usd)

    def day(self) -> str:
        return budget_day(self.clock(), self.config.reset_hour_utc)

    def seconds_to_reset(self) -> float:
        """Seconds until the next budget day starts (at least 1)."""
        start = datetime.fromisoformat(self.day()).replace(tzinfo=UTC)
        reset = start + timedelta(days=1, hours=self.config.reset_hour_utc)
        return max(1.0, (reset - self.clock()).total_seconds())

    async def view(self, tenant: str, priority: PriorityClass) -> BudgetView:
        """The tier this request is served in. Raises: BudgetUnavailable (fail-closed)."""
        scope, limit = self.scope(tenant)
        if limit <= 0:
            return BudgetView(scope, BudgetTier.QUALITY, 1.0, BudgetState(0, 0, 0))
        state = await self.ledger.state(scope, self.day(), limit)
        fraction = state.remaining_fraction
        return BudgetView(scope, self.policy.tier(scope, fraction, priority), fraction, state)

    async def admit(
        self, tenant: str, estimate_usd: float, priority: PriorityClass, *, retry: bool
    ) -> Reservation | None:
        """Hold the estimated cost. The reserve is usable by critical traffic and by retries
        of a call already admitted. Returns None when no budget is configured.

        Raises:
            BudgetExhausted: it does not fit. BudgetUnavailable: ledger down, fail-closed.
        """
        scope, limit = self.scope(tenant)
        if limit <= 0:
            return None
        floor = (
            0
            if (retry or priority is PriorityClass.CRITICAL)
            else round(limit * self.config.reserve_fraction)
        )
        held = await self.ledger.reserve(scope, self.day(), to_micros(estimate_usd), limit, floor)
        if held is None:
            raise BudgetExhausted(
                f"daily budget exhausted for {scope}", retry_after=self.seconds_to_reset()
            )
        return held

    async def settle(self, reservation: Reservation | None, actual_usd: float) -> None:
        """Commit the actual cost and refund the rest of the hold."""
        if reservation is None:
            return
        if reservation.amount_micros > 0:
            self.estimate_ratios.append(to_micros(actual_usd) / reservation.amount_micros)
        await self.ledger.commit(reservation, to_micros(actual_usd))

    async def refund(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            await self.ledger.release(reservation)

    async def aclose(self) -> None:
        await self.ledger.aclose()


def usage_cost(model: ModelConfig, usage: Usage) -> float:
    """USD for ``usage``: cache reads and writes at the model's cache prices, the rest of the
    prompt at the input price."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    plain = usage.prompt_tokens - cached - written
    return (
        plain * model.input_price
        + cached * model.cache_read_price
        + written * model.cache_written_price
        + usage.completion_tokens * model.output_price
    ) / 1e6


__all__ = ["MICROS", "BudgetView", "FailoverLedger", "Spending", "cost_usd", "usage_cost"]
