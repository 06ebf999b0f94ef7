"""Reloading semroute.toml in a running service, without a restart.

The encoders stay (they are the slow part): the transformer, the cascade's static first
stage and the multilingual stage. A new router is built from the new file — reusing the
budget ledger, the cache and the breakers when what they are built from did not change (a new
cache gets its own Redis sync) — and swapped in; what reads files (the config, the centroids,
a new cache's verifier and snapshot) runs off the event loop, which serves requests on the old
router meanwhile, and one reload runs at a time. What it replaced (the old provider clients, a
rebuilt ledger's, breakers' or rate-limit store's connections) is closed after a grace period
so in-flight calls can finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from router import Router
from router.classify import load_transformer_centroids
from router.config import Config, load_config
from service.rate_limits import RateLimits
from service.state import ServiceState
from service.wiring import build_breakers, build_cache, build_spending, start_cache_sync

log = logging.getLogger("semroute.admin")
CLOSE_OLD_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class _Kept:
    """Which of the running router's parts the new config leaves as they are."""

    budget: bool
    cache: bool
    breakers: bool

    @classmethod
    def between(cls, new: Config, old: Config) -> _Kept:
        same_redis = new.redis == old.redis
        same_keys = new.auth.key_budgets() == old.auth.key_budgets()  # the keys' own budgets
        return cls(
            budget=new.budget == old.budget and same_keys and same_redis,
            cache=new.cache == old.cache and same_redis,
            breakers=new.execution.breaker == old.execution.breaker and same_redis,
        )


async def reload_config(state: ServiceState) -> dict[str, Any]:
    """Raises: ConfigError (the running config stays), ArtifactError (centroids, verifier)."""
    async with state.reloading:
        return await _reload(state)


async def _reload(state: ServiceState) -> dict[str, Any]:
    old = state.ready_router()
    config = await anyio.to_thread.run_sync(load_config, state.config_path)
    kept = _Kept.between(config, old.config)
    new = await _rebuild(config, old, kept)
    state.config, state.router = config, new
    retired: list[Callable[[], Awaitable[None]]] = [old.providers.aclose]
    if not kept.cache and state.cache_sync is not None:  # it feeds the cache replaced
        old_sync, state.cache_sync = state.cache_sync, await start_cache_sync(new)
        await old_sync.aclose()
    if not kept.budget:
        retired.append(old.spending.aclose)
    if not kept.breakers:
        retired.append(old.breakers.aclose)
    retired.extend(_reconfigure_limits(state, config))
    _close_later(state, retired)
    return {
        "path": str(state.config_path) if state.config_path else "embedded default",
        "budget": "kept" if kept.budget else "rebuilt",
        "cache": "kept" if kept.cache else "rebuilt (entries dropped)",
        "centroids": new.centroids.version,
    }


def _reconfigure_limits(state: ServiceState, config: Config) -> list[Callable[[], Awaitable[None]]]:
    """The rate limits for ``config``; returns the old store's closer when it was replaced."""
    old_limits = state.limits
    state.limits = (
        old_limits.reconfigured(config)
        if old_limits is not None
        else RateLimits.from_config(config)
    )
    if old_limits is not None and (
        state.limits is None or state.limits.storage is not old_limits.storage
    ):
        return [old_limits.aclose]
    return []


async def _rebuild(config: Config, old: Router, kept: _Kept) -> Router:
    """The router for ``config`` around the running encoders; the files it reads are read in
    a worker thread."""
    version = config.routing.centroid_version
    centroids = await anyio.to_thread.run_sync(
        load_transformer_centroids, config, old.encoder, version
    )
    cache = old.cache
    if not kept.cache:
        cache = await anyio.to_thread.run_sync(build_cache, config, old.encoder.dim)
    return Router.from_config(
        config,
        old.encoder,
        spending=old.spending if kept.budget else build_spending(config),
        cache=cache,
        breakers=old.breakers if kept.breakers else build_breakers(config),
        first_stage=old.first_stage,
        multilingual=old.classifier.multilingual,
        centroids=centroids,
    )


def _close_later(state: ServiceState, closers: list[Callable[[], Awaitable[None]]]) -> None:
    """In-flight requests still hold the old clients: close them once those are done."""

    def start() -> None:
        for close in closers:
            task = asyncio.ensure_future(close())
            state.retiring.add(task)  # held until done: a task nobody holds may be collected
            task.add_done_callback(state.retiring.discard)

    asyncio.get_running_loop().call_later(CLOSE_OLD_AFTER_S, start)
