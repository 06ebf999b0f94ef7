"""Choosing among the deployments that serve one catalogue model.

Strategies: weighted random (default), round robin, least latency (EWMA of observed call
latency; unmeasured deployments go first so they get measured). A rate-limited deployment
cools down for its Retry-After and is not offered until then.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["weighted", "round_robin", "least_latency"]
EWMA_ALPHA = 0.3


@dataclass(frozen=True, slots=True)
class Deployment:
    """One (provider, upstream model) serving a catalogue model."""

    model: str
    provider: str
    upstream: str
    weight: float = 1.0

    @property
    def id(self) -> str:
        return f"{self.model}@{self.provider}/{self.upstream}"


class Balancer:
    def __init__(
        self,
        strategy: Strategy = "weighted",
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strategy = strategy
        self._rng = rng or random.Random()
        self._clock = clock
        self._turn: dict[str, int] = {}
        self._latency: dict[str, float] = {}
        self._cool_until: dict[str, float] = {}

    def cool_down(self, deployment: Deployment, seconds: float) -> None:
        self._cool_until[deployment.id] = self._clock() + max(seconds, 0.0)

    def cooling(self, deployment: Deployment) -> bool:
        return self._cool_until.get(deployment.id, 0.0) > self._clock()

    def observe(self, deployment: Deployment, latency_s: float) -> None:
        old = self._latency.get(deployment.id)
        self._latency[deployment.id] = (
            latency_s if old is None else EWMA_ALPHA * latency_s + (1 - EWMA_ALPHA) * old
        )

    def latency(self, deployment: Deployment) -> float | None:
        return self._latency.get(deployment.id)

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """All deployments not cooling down, most preferred first."""
        ready = [d for d in deployments if not self.cooling(d)]
        if len(ready) <= 1:
            return ready
        if self.strategy == "round_robin":
            key = ready[0].model
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
            start = turn % len(ready)
            return ready[start:] + ready[:start]
        if self.strategy == "least_latency":
            return sorted(ready, key=lambda d: self._latency.get(d.id, -1.0))
        return self._weighted(ready)

    def _weighted(self, ready: list[Deployment]) -> list[Deployment]:
        # Weighted sampling without replacement (Efraimidis–Spirakis keys).
        keys = {d.id: self._rng.random() ** (1.0 / d.weight) for d in ready}
        return sorted(ready, key=lambda d: -keys[d.id])
