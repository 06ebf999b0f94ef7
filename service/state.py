"""What the running service holds: its config and, once loaded, the router."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from router import Router
from router.cache import RedisCacheSync
from router.config import Config
from router.errors import NotReady
from router.metrics import Metrics
from router.outcomes import OutcomeLog
from service.observe import Observation
from service.rate_limits import RateLimits
from service.record import RequestRecord


@dataclass(slots=True)
class ServiceState:
    config: Config
    config_path: Path | None = None  # None: the embedded default
    router: Router | None = None
    load_error: str | None = None
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    metrics: Metrics = field(default_factory=Metrics)
    outcomes: OutcomeLog | None = None
    cache_sync: RedisCacheSync | None = None
    limits: RateLimits | None = None  # [limits]: None when nothing is limited
    in_flight: int = 0
    draining: bool = False  # shutting down: /readyz is false, new requests get 503
    retiring: set[asyncio.Task[None]] = field(default_factory=set)  # closing what a reload replaced
    reloading: asyncio.Lock = field(default_factory=asyncio.Lock)  # one config reload at a time

    def ready_router(self) -> Router:
        """Raises: NotReady while loading or after a failed load."""
        if self.router is None:
            raise NotReady(self.load_error or "semroute is starting: the encoder is loading")
        return self.router


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.semroute
    return state


async def state_dep(request: Request) -> ServiceState:
    """``get_state`` as a dependency. Dependencies are ``async def`` on purpose: FastAPI runs a
    plain ``def`` one in a worker thread, a hop that costs far more than the work."""
    return get_state(request)


def get_observation(request: Request) -> Observation:
    state = get_state(request)
    record: RequestRecord | None = getattr(request.state, "semroute", None)
    if record is None:  # mounted without the middleware (unit tests of one route)
        record = RequestRecord("-", request.url.path)
        request.state.semroute = record
    return Observation(record, state.metrics)
