"""Circuit breakers, one per deployment: closed → open → half-open → closed.

Closed: N consecutive failures within the window open it (a success resets the count).
Open: calls are refused until the cooldown has passed; then it is half-open.
Half-open: exactly one probe is let through; success closes, failure re-opens.
Only upstream faults count (5xx, timeouts, broken bodies, auth); client errors never do.
Time is injected (``clock``) so every transition is testable without sleeping.

Correct under concurrency: ``acquire`` hands out a ``Ticket`` that names the breaker's epoch
(incremented every time it opens) and whether it carries the probe. A verdict for a ticket of
an older epoch — a call that started before the breaker opened — changes nothing, so calls
still in flight when it opens cannot close it again. Only the probe's own ticket frees the
probe slot, and a probe not settled within ``probe_lease_s`` frees it anyway (a verdict that
never came: a bug, a lost task). A verdict without a ticket (operators, old callers) applies to
the current epoch, as the probe when one is out.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from router.config import BreakerConfig

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Ticket:
    """Leave to make one call: the epoch it started in, and whether it is the half-open probe."""

    epoch: int
    probe: bool = False
    shared: bool = field(default=False, compare=False)  # handed out by a shared (Redis) breaker


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    config: BreakerConfig
    clock: Clock = time.monotonic
    probe_lease_s: float = 120.0
    _state: BreakerState = BreakerState.CLOSED
    _failures: list[float] = field(default_factory=list)
    _opened_at: float = 0.0
    _probe_at: float | None = None  # when the probe was handed out; None: no probe out
    _epoch: int = 0
    forced: BreakerState | None = None  # set by an operator; overrides the automaton

    @property
    def state(self) -> BreakerState:
        if self.forced is not None:
            return self.forced
        if self._state is BreakerState.OPEN and self._cooled():
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def epoch(self) -> int:
        return self._epoch

    def _cooled(self) -> bool:
        return self.clock() - self._opened_at >= self.config.cooldown_s

    def _probe_out(self) -> bool:
        return self._probe_at is not None and self.clock() - self._probe_at < self.probe_lease_s

    def available(self) -> bool:
        """Would a call be let through now? (does not take the half-open probe slot)"""
        state = self.state
        if state is BreakerState.HALF_OPEN:
            return not self._probe_out()
        return state is BreakerState.CLOSED

    def acquire(self) -> Ticket | None:
        """Ask to make a call; in half-open only the first caller gets (the probe's) ticket."""
        if not self.available():
            return None
        if self.state is BreakerState.HALF_OPEN and self.forced is None:
            self._state = BreakerState.HALF_OPEN
            self._probe_at = self.clock()
            return Ticket(self._epoch, probe=True)
        return Ticket(self._epoch)

    def _current(self, ticket: Ticket | None) -> Ticket | None:
        """The ticket if its verdict still counts (None: stale)."""
        if ticket is None:
            return Ticket(self._epoch, probe=self._state is BreakerState.HALF_OPEN)
        return ticket if ticket.epoch == self._epoch else None

    def record_success(self, ticket: Ticket | None = None) -> None:
        current = self._current(ticket)
        if current is None or self._state is BreakerState.OPEN:
            return
        if self._state is BreakerState.HALF_OPEN and not current.probe:
            return  # a call let through by an override says nothing about the probe
        self._state = BreakerState.CLOSED
        self._failures.clear()
        self._probe_at = None

    def record_failure(self, ticket: Ticket | None = None) -> None:
        current = self._current(ticket)
        if current is None or self._state is BreakerState.OPEN:
            return
        now = self.clock()
        if self._state is BreakerState.HALF_OPEN:
            if current.probe:
                self._open(now)
            return
        self._failures = [t for t in self._failures if now - t < self.config.window_s]
        self._failures.append(now)
        if len(self._failures) >= self.config.failures:
            self._open(now)

    def release(self, ticket: Ticket | None = None) -> None:
        """A call that ended without a verdict on the upstream (e.g. the client's fault)."""
        current = self._current(ticket)
        if current is not None and current.probe:
            self._probe_at = None

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
        self._failures.clear()
        self._probe_at = None
        self._epoch += 1


class Breakers(Protocol):
    """Breaker state by deployment id: in this process, or shared by replicas (Redis)."""

    async def available(self, deployment: str) -> bool: ...

    async def acquire(self, deployment: str) -> Ticket | None:
        """A ticket for one call, or None when the breaker refuses it."""
        ...

    async def record_success(self, deployment: str, ticket: Ticket | None = None) -> None: ...

    async def record_failure(self, deployment: str, ticket: Ticket | None = None) -> None: ...

    async def release(self, deployment: str, ticket: Ticket | None = None) -> None:
        """The call ended without a verdict: frees the probe slot if the ticket holds it."""
        ...

    async def force(self, deployment: str, state: BreakerState | None) -> None:
        """An operator's override (open / closed), or None to hand back to the automaton."""
        ...

    async def states(self) -> dict[str, BreakerState]: ...

    async def aclose(self) -> None:
        """Release what the breakers hold (a Redis connection); in-process ones hold nothing."""
        ...


class BreakerRegistry:
    """In-process breakers by deployment id, created on first use."""

    def __init__(
        self,
        config: BreakerConfig,
        clock: Clock = time.monotonic,
        *,
        probe_lease_s: float = 120.0,
    ) -> None:
        self.config = config
        self.clock = clock
        self.probe_lease_s = probe_lease_s
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, deployment: str) -> CircuitBreaker:
        if deployment not in self._breakers:
            self._breakers[deployment] = CircuitBreaker(
                self.config, self.clock, probe_lease_s=self.probe_lease_s
            )
        return self._breakers[deployment]

    async def available(self, deployment: str) -> bool:
        return self.get(deployment).available()

    async def acquire(self, deployment: str) -> Ticket | None:
        return self.get(deployment).acquire()

    async def record_success(self, deployment: str, ticket: Ticket | None = None) -> None:
        self.get(deployment).record_success(ticket)

    async def record_failure(self, deployment: str, ticket: Ticket | None = None) -> None:
        self.get(deployment).record_failure(ticket)

    async def release(self, deployment: str, ticket: Ticket | None = None) -> None:
        self.get(deployment).release(ticket)

    async def force(self, deployment: str, state: BreakerState | None) -> None:
        self.get(deployment).forced = state

    async def states(self) -> dict[str, BreakerState]:
        return {d: b.state for d, b in sorted(self._breakers.items())}

    async def aclose(self) -> None:
        return None
