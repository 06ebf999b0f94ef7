"""Building the router's parts from the config, and the cache's persistence lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio

from router import Router
from router.budget import FailoverLedger, RedisLedger, Spending
from router.cache import RedisCacheSync, SemanticCache, build_verifier, load_snapshot, save_snapshot
from router.classify import (
    build_first_stage,
    build_multilingual_stage,
    build_transformer,
    current_version,
)
from router.config import Config
from router.errors import ArtifactError, ConfigError
from router.execution import Breakers, RedisBreakers
from router.metrics import Metrics
from router.outcomes import JsonlSink, OutcomeLog, OutcomeSink, RedisStreamSink
from service.state import ServiceState

log = logging.getLogger("semroute.service")


def build_spending(config: Config) -> Spending:
    """The day's budgets — global, per tenant and each client key's own (``daily_usd``) — on
    one ledger: in process, or with ``[redis] url`` shared by every replica (``fail_mode``
    says what happens while Redis is unreachable)."""
    return Spending(config.budget, build_ledger(config), key_limits=config.auth.key_budgets())


def build_ledger(config: Config) -> FailoverLedger | None:
    """The Redis ledger behind its local stand-in; None without ``[redis] url`` (in memory)."""
    if config.redis.url is None:
        return None
    shared = RedisLedger(
        config.redis.address() or "",
        key_prefix=config.redis.key_prefix,
        socket_timeout_s=config.redis.socket_timeout_s,
        hold_lease_s=config.budget.hold_lease_s,
    )
    fail_open = config.redis.fail_mode == "open"
    return FailoverLedger(shared, fail_open=fail_open, hold_lease_s=config.budget.hold_lease_s)


def build_cache(config: Config, dim: int) -> SemanticCache | None:
    """The cache with its verifier; in embedded mode, reloaded from the last snapshot."""
    if not config.cache.enabled:
        return None
    cache = SemanticCache(config.cache, dim, build_verifier(config.cache))
    if config.redis.url is None:
        loaded = load_snapshot(cache, config.cache.path)
        log.info("cache: %d entries loaded from %s", loaded, config.cache.path)
    return cache


def build_router(config: Config, metrics: Metrics | None = None) -> Router:
    """Load the encoder, centroids, verifier and cache, and the budget ledger (slow: seconds).
    ``metrics`` shows the encoder files' hold-out checks.

    Raises:
        ArtifactError: the model, the centroids or the verifier cannot be loaded.
    """
    on_check = None if metrics is None else metrics.observe_check
    encoder, centroids = build_transformer(config, on_check)  # centroids loaded once
    # Never raises: without it, the transformer decides.
    first_stage = build_first_stage(config, on_check)
    return Router.from_config(
        config,
        encoder,
        spending=build_spending(config),
        cache=build_cache(config, encoder.dim),
        breakers=build_breakers(config),
        first_stage=first_stage,
        multilingual=build_multilingual_stage(config, on_check),  # never raises either
        centroids=centroids,
    )


def build_breakers(config: Config) -> Breakers | None:
    """Shared through Redis when configured (on wall-clock time, which replicas share)."""
    r = config.redis
    if r.url is None:
        return None
    return RedisBreakers(
        r.address() or "",
        config.execution.breaker,
        key_prefix=r.key_prefix,
        socket_timeout_s=r.socket_timeout_s,
        probe_lease_s=config.execution.deadline_s,
    )


async def start_cache_sync(router: Router) -> RedisCacheSync | None:
    """Redis mode: load the shared cache and follow its stream of inserts and deletions."""
    r = router.config.redis
    if r.url is None or router.cache is None:
        return None
    # Vectors of different encoders must never mix, even when their sizes match.
    sync = RedisCacheSync(
        router.cache,
        r.address() or "",
        key_prefix=f"{r.key_prefix}:{router.encoder.name}",
        socket_timeout_s=r.socket_timeout_s,
    )
    await sync.start()
    log.info("cache: %d entries loaded from Redis", len(router.cache))
    return sync


def build_outcome_log(config: Config, on_drop: Callable[[int], None]) -> OutcomeLog | None:
    spec = config.outcomes
    if not spec.enabled:
        return None
    sink: OutcomeSink
    if spec.sink == "redis":
        if config.redis.url is None:
            raise ConfigError('outcomes.sink = "redis" needs redis.url', key="outcomes.sink")
        sink = RedisStreamSink(
            config.redis.address() or "",
            key_prefix=config.redis.key_prefix,
            socket_timeout_s=config.redis.socket_timeout_s,
        )
    else:
        sink = JsonlSink(spec.path, max_bytes=spec.max_file_bytes)
    return OutcomeLog(sink, queue_size=spec.queue_size, recent_ids=spec.recent_ids, on_drop=on_drop)


async def snapshot(router: Router) -> None:
    """Write the embedded cache to disk (no-op in Redis mode or without a cache)."""
    if router.cache is None or router.config.redis.url is not None:
        return
    path = router.config.cache.path
    try:
        n = await anyio.to_thread.run_sync(save_snapshot, router.cache, path)
        log.info("cache: snapshot of %d entries written to %s", n, path)
    except OSError as exc:
        log.warning("cache: snapshot to %s failed: %s", path, exc)


async def snapshot_loop(router: Router) -> None:
    """Snapshot every ``cache.snapshot_interval_s`` and sweep expired entries."""
    while True:
        await asyncio.sleep(router.config.cache.snapshot_interval_s)
        if router.cache is not None:
            await anyio.to_thread.run_sync(router.cache.sweep)
        await snapshot(router)


async def watch_current(state: ServiceState) -> None:
    """Follow ``centroids/CURRENT``: a promoted version goes live without a restart."""
    interval = state.config.routing.watch_current_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        engine = state.router
        if engine is None or engine.config.routing.centroid_version is not None:
            continue  # a pinned version is not followed
        try:
            live = current_version(engine.config.routing.centroids_dir)
        except ArtifactError:
            continue
        if live != engine.centroids.version:
            try:
                await anyio.to_thread.run_sync(engine.reload_centroids, live)
                log.info("centroids: %s is live (CURRENT changed)", live)
            except ArtifactError as exc:
                log.error("centroids: CURRENT names %s but it does not load: %s", live, exc)
