"""App factory and lifespan: the encoder and centroids load in the background; /readyz says when."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI

from router import Router
from router.config import Config
from router.errors import RouterError
from service.errors import install_error_handlers
from service.limits import BodyLimit
from service.middleware import RequestContext
from service.rate_limits import RateLimits
from service.routes import admin, chat, feedback, health, messages, metrics, models, route
from service.state import ServiceState
from service.wiring import (
    build_outcome_log,
    build_router,
    snapshot,
    snapshot_loop,
    start_cache_sync,
    watch_current,
)

log = logging.getLogger("semroute.service")


async def _load(state: ServiceState) -> None:
    try:
        router = await anyio.to_thread.run_sync(build_router, state.config, state.metrics)
        state.cache_sync = await start_cache_sync(router)
        state.router = router
        # The model, centroids and catalogue live as long as the process: keep them out of
        # the collector's sight, so full collections stay short on the request path.
        gc.freeze()
        log.info("ready: centroids %s", router.centroids.version)
    except RouterError as exc:
        state.load_error = f"cannot start routing: {exc.message}"
        log.error(state.load_error)
    finally:
        state.loaded.set()


async def _snapshots(state: ServiceState) -> None:
    await state.loaded.wait()
    if state.router is not None:
        await snapshot_loop(state.router)


def _on_sighup(state: ServiceState) -> None:
    """SIGHUP re-reads provider keys (only possible in the main thread, i.e. `semroute serve`)."""

    async def reload() -> None:
        if state.router is not None:
            present = await state.router.reload_credentials()
            log.info("SIGHUP: provider keys reloaded: %s", present)

    try:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: asyncio.ensure_future(reload())
        )
    except (NotImplementedError, RuntimeError, ValueError):
        log.debug("SIGHUP handler not installed (not in the main thread)")


def create_app(
    config: Config, router: Router | None = None, *, config_path: Path | None = None
) -> FastAPI:
    """Build the app. With ``router`` given (tests, embedding), it is ready at once.
    ``config_path`` is what an admin reload re-reads (None: the embedded default)."""
    state = ServiceState(config=config, config_path=config_path, router=router)
    if router is not None:
        state.loaded.set()
    state.outcomes = build_outcome_log(config, state.metrics.outcome_drops.inc)
    state.limits = RateLimits.from_config(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(_load(state)) if state.router is None else None
        if state.router is not None:  # given ready-made (tests, embedding)
            state.cache_sync = await start_cache_sync(state.router)
        if state.outcomes is not None:
            state.outcomes.start()
        snapshots = asyncio.create_task(_snapshots(state))
        watcher = asyncio.create_task(watch_current(state))
        _on_sighup(state)
        try:
            yield
        finally:
            for task in (loading, snapshots, watcher):
                if task is not None and not task.done():
                    task.cancel()
            if state.outcomes is not None:
                await state.outcomes.aclose()
            if state.cache_sync is not None:
                await state.cache_sync.aclose()
            if state.limits is not None:
                await state.limits.aclose()
            if state.router is not None:
                await snapshot(state.router)
                await state.router.aclose()

    app = FastAPI(
        title="semroute",
        version="0.1.0",
        summary="Semantic LLM router with an OpenAI-compatible API",
        lifespan=lifespan,
    )
    app.state.semroute = state
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(route.router)
    app.include_router(chat.router)
    app.include_router(messages.router)
    app.include_router(models.router)
    app.include_router(feedback.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    # Added last = outermost: every request gets an id, a log line and the caps first; the
    # hot paths (/v1/route, /v1/chat/completions) are answered inside them, without FastAPI's
    # per-request machinery.
    app.add_middleware(route.direct, state=state)
    app.add_middleware(chat.direct, state=state)
    app.add_middleware(BodyLimit, max_bytes=config.service.max_body_bytes)
    app.add_middleware(RequestContext, state=state)
    return app
