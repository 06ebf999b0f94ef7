"""Reloading semroute.toml in a running service, without a restart.

The encoder stays (it is the slow part). A new router is built from the new file — reusing the
budget ledger and the cache when their sections did not change — and swapped in; the old one's
provider clients are closed after a grace period so in-flight calls can finish.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from router import Router
from router.config import load_config
from service.rate_limits import RateLimits
from service.state import ServiceState
from service.wiring import build_cache, build_spending

log = logging.getLogger("semroute.admin")
CLOSE_OLD_AFTER_S = 60.0


async def reload_config(state: ServiceState) -> dict[str, Any]:
    """Raises: ConfigError (the running config stays), ArtifactError (centroids, verifier)."""
    old = state.ready_router()
    config = load_config(state.config_path)
    same_budget = config.budget == old.config.budget and config.redis == old.config.redis
    same_cache = config.cache == old.config.cache and config.redis == old.config.redis
    spending = old.spending if same_budget else build_spending(config)
    cache = old.cache if same_cache else build_cache(config, old.encoder.dim)
    new = Router.from_config(config, old.encoder, spending=spending, cache=cache)
    state.config, state.router = config, new
    old_limits = state.limits
    if old_limits is not None:
        state.limits = old_limits.reconfigured(config)
    else:
        state.limits = RateLimits.from_config(config)
    loop = asyncio.get_running_loop()
    # In-flight requests still hold the old clients: close them once those are done.
    loop.call_later(CLOSE_OLD_AFTER_S, lambda: asyncio.ensure_future(old.providers.aclose()))
    if old_limits is not None and (
        state.limits is None or state.limits.storage is not old_limits.storage
    ):
        loop.call_later(CLOSE_OLD_AFTER_S, lambda: asyncio.ensure_future(old_limits.aclose()))
    return {
        "path": str(state.config_path) if state.config_path else "embedded default",
        "budget": "kept" if same_budget else "rebuilt",
        "cache": "kept" if same_cache else "rebuilt (entries dropped)",
        "centroids": new.centroids.version,
    }
