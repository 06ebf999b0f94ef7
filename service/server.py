"""uvicorn, with a drain: a shutdown signal first turns /readyz false and turns new requests
away, while in-flight requests finish within ``service.shutdown_grace_s``; then the lifespan
flushes logs and writes the cache snapshot."""

from __future__ import annotations

from types import FrameType

import uvicorn

from service.state import ServiceState


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServiceState) -> None:
        super().__init__(config)
        self.semroute_state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.semroute_state.draining = True
        super().handle_exit(sig, frame)
