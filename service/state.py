"""What the running service holds: its config and, once loaded, the router."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

from router.config import Config
from router.core import Router
from router.errors import NotReady


@dataclass(slots=True)
class ServiceState:
    config: Config
    router: Router | None = None
    load_error: str | None = None
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    def ready_router(self) -> Router:
        """Raises: NotReady while loading or after a failed load."""
        if self.router is None:
            raise NotReady(self.load_error or "semroute is starting: the encoder is loading")
        return self.router


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.semroute
    return state


def get_router(request: Request) -> Router:
    return get_state(request).ready_router()
