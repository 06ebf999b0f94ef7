"""Circuit breakers, one per deployment: closed → open → half-open → closed.

Closed: N consecutive failures within the window open it (a success resets the count).
Open: calls are refused until the cooldown has passed; then it is half-open.
Half-open: exactly one probe is let through; success closes, failure re-opens.
Only upstream faults count (5xx, timeouts, broken bodies, auth); client errors never do.
Time is injected (``clock``) so every transition is testable without sleeping.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from router.config import BreakerConfig

Clock = Callable[[], float]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    config: BreakerConfig
    clock: Clock = time.monotonic
    _state: BreakerState = BreakerState.CLOSED
    _failures: list[float] = field(default_factory=list)
    _opened_at: float = 0.0
    _probe_out: bool = False
    forced: BreakerState | None = None  # set by an operator; overrides the automaton

    @property
    def state(self) -> BreakerState:
        if self.forced is not None:
            return self.forced
        if self._state is BreakerState.OPEN and self._cooled():
            return BreakerState.HALF_OPEN
        return self._state

    def _cooled(self) -> bool:
        return self.clock() - self._opened_at >= self.config.cooldown_s

    def available(self) -> bool:
        """Would a call be let through now? (does not take the half-open probe slot)"""
        state = self.state
        if state is BreakerState.HALF_OPEN:
            return not self._probe_out
        return state is BreakerState.CLOSED

    def acquire(self) -> bool:
        """Ask to make a call; in half-open only the first caller gets the probe."""
        if not self.available():
            return False
        if self.state is BreakerState.HALF_OPEN and self.forced is None:
            self._state = BreakerState.HALF_OPEN
            self._probe_out = True
        return True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures.clear()
        self._probe_out = False

    def record_failure(self) -> None:
        now = self.clock()
        if self._state is BreakerState.HALF_OPEN:
            self._open(now)
            return
        self._failures = [t for t in self._failures if now - t < self.config.window_s]
        self._failures.append(now)
        if len(self._failures) >= self.config.failures:
            self._open(now)

    def release(self) -> None:
        """A call that ended without a verdict on the upstream (e.g. the client's fault)."""
        self._probe_out = False

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
        self._failures.clear()
        self._probe_out = False


class Breakers(Protocol):
    """Breaker state by deployment id: in this process, or shared by replicas (Redis)."""

    async def available(self, deployment: str) -> bool: ...

    async def acquire(self, deployment: str) -> bool: ...

    async def record_success(self, deployment: str) -> None: ...

    async def record_failure(self, deployment: str) -> None: ...

    async def release(self, deployment: str) -> None: ...

    async def force(self, deployment: str, state: BreakerState | None) -> None:
        """An operator's override (open / closed), or None to hand back to the automaton."""
        ...

    async def states(self) -> dict[str, BreakerState]: ...

    async def aclose(self) -> None:
        """Release what the breakers hold (a Redis connection); in-process ones hold nothing."""
        ...


class BreakerRegistry:
    """In-process breakers by deployment id, created on first use."""

    def __init__(self, config: BreakerConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, deployment: str) -> CircuitBreaker:
        if deployment not in self._breakers:
            self._breakers[deployment] = CircuitBreaker(self.config, self.clock)
        return self._breakers[deployment]

    async def available(self, deployment: str) -> bool:
        return self.get(deployment).available()

    async def acquire(self, deployment: str) -> bool:
        return self.get(deployment).acquire()

    async def record_success(self, deployment: str) -> None:
        self.get(deployment).record_success()

    async def record_failure(self, deployment: str) -> None:
        self.get(deployment).record_failure()

    async def release(self, deployment: str) -> None:
        self.get(deployment).release()

    async def force(self, deployment: str, state: BreakerState | None) -> None:
        self.get(deployment).forced = state

    async def states(self) -> dict[str, BreakerState]:
        return {d: b.state for d, b in sorted(self._breakers.items())}

    async def aclose(self) -> None:
        return None
