"""Reloading semroute.toml in a running service, without a restart.

The encoders stay (they are the slow part): the transformer and the cascade's static first
stage. A new router is built from the new file — reusing the budget ledger, the cache and the
breakers when their sections did not change (a new cache gets its own Redis sync) — and
swapped in; what it replaced (the old provider clients, a rebuilt ledger's, breakers' or
rate-limit store's connections) is closed after a grace period so in-flight calls can finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from router import Router
from router.config import load_config
from service.rate_limits import RateLimits
from service.state import ServiceState
from service.wiring import build_breakers, build_cache, build_spending, start_cache_sync

log = logging.getLogger("semroute.admin")
CLOSE_OLD_AFTER_S = 60.0


async def reload_config(state: ServiceState) -> dict[str, Any]:
    """Raises: ConfigError (the running config stays), ArtifactError (centroids, verifier)."""
    old = state.ready_router()
    config = load_config(state.config_path)
    same_redis = config.redis == old.config.redis
    same_budget = config.budget == old.config.budget and same_redis
    same_cache = config.cache == old.config.cache and same_redis
    same_breakers = config.execution.breaker == old.config.execution.breaker and same_redis
    new = Router.from_config(
        config,
        old.encoder,
        spending=old.spending if same_budget else build_spending(config),
        cache=old.cache if same_cache else build_cache(config, old.encoder.dim),
        breakers=old.breakers if same_breakers else build_breakers(config),
        first_stage=old.first_stage,
    )
    state.config, state.router = config, new
    retired: list[Callable[[], Awaitable[None]]] = [old.providers.aclose]
    if not same_cache and state.cache_sync is not None:  # it feeds the cache replaced
        old_sync, state.cache_sync = state.cache_sync, await start_cache_sync(new)
        await old_sync.aclose()
    if not same_budget:
        retired.append(old.spending.aclose)
    if not same_breakers:
        retired.append(old.breakers.aclose)
    old_limits = state.limits
    state.limits = (
        old_limits.reconfigured(config)
        if old_limits is not None
        else RateLimits.from_config(config)
    )
    if old_limits is not None and (
        state.limits is None or state.limits.storage is not old_limits.storage
    ):
        retired.append(old_limits.aclose)
    _close_later(state, retired)
    return {
        "path": str(state.config_path) if state.config_path else "embedded default",
        "budget": "kept" if same_budget else "rebuilt",
        "cache": "kept" if same_cache else "rebuilt (entries dropped)",
        "centroids": new.centroids.version,
    }


def _close_later(state: ServiceState, closers: list[Callable[[], Awaitable[None]]]) -> None:
    """In-flight requests still hold the old clients: close them once those are done."""

    def start() -> None:
        for close in closers:
            task = asyncio.ensure_future(close())
            state.retiring.add(task)  # held until done: a task nobody holds may be collected
            task.add_done_callback(state.retiring.discard)

    asyncio.get_running_loop().call_later(CLOSE_OLD_AFTER_S, start)
