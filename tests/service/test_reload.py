"""POST /admin/reload keeps what its sections did not change: the encoders (the cascade's
static first stage and the multilingual stage with them) and the breakers, whose state is the
providers' health; it reads the file off the event loop and leaves a bad one unapplied."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import anyio
import pytest

from router import Router
from router.cache import SemanticCache
from router.classify import FirstStage, MultilingualStage, load_centroids
from router.config import DEFAULT_CONFIG, Config, load_config
from router.encoders import MicroBatcher
from router.errors import ConfigError
from router.execution import build_providers
from service.reload import reload_config
from service.state import ServiceState
from service.wiring import start_cache_sync
from tests.conftest import write_test_centroids
from tests.fakes import HashingEncoder


def _state(tmp_path: Path, config: Config, text: str) -> ServiceState:
    path = tmp_path / "semroute.toml"
    path.write_text(text)
    loaded = load_config(path, environ={})
    encoder = HashingEncoder()
    centroids = load_centroids(
        loaded.routing.centroids_dir, encoder_name=encoder.name, dim=encoder.dim
    )
    ml = HashingEncoder(dim=128, name="hashing-multilingual")
    ml_centroids = load_centroids(
        write_test_centroids(tmp_path / "ml", ml), "v1", encoder_name=ml.name, dim=ml.dim
    )
    router = Router.from_config(
        loaded,
        encoder,
        build_providers(loaded, environ={}),
        cache=SemanticCache(loaded.cache, encoder.dim),
        first_stage=FirstStage(encoder, centroids, margin=0.1),
        multilingual=MultilingualStage(ml, ml_centroids, "all", MicroBatcher(ml)),  # type: ignore[arg-type]
    )
    return ServiceState(config=loaded, config_path=path, router=router)


def _text(config: Config) -> str:
    """The default semroute.toml on the test centroids."""
    return DEFAULT_CONFIG.read_text().replace(
        '# centroids_dir = "centroids"', f'centroids_dir = "{config.routing.centroids_dir}"'
    )


async def test_a_reload_keeps_the_first_stage_and_the_breakers(
    tmp_path: Path, config: Config
) -> None:
    text = _text(config)
    state = _state(tmp_path, config, text)
    old = state.ready_router()
    assert state.config_path is not None
    state.config_path.write_text(text.replace("daily_usd = 0 ", "daily_usd = 5 ", 1))
    report = await reload_config(state)
    new = state.ready_router()
    assert new is not old and report["budget"] == "rebuilt"
    assert new.first_stage is old.first_stage is not None  # the cascade stays on
    assert new.classifier.multilingual is old.classifier.multilingual is not None  # and this
    assert new.breakers is old.breakers  # an open breaker stays open


async def test_a_rebuilt_cache_gets_its_own_redis_sync(
    tmp_path: Path, config: Config, redis_url: str
) -> None:
    text = DEFAULT_CONFIG.read_text().replace(
        '# centroids_dir = "centroids"', f'centroids_dir = "{config.routing.centroids_dir}"'
    )
    text = text.replace("[redis]\n", f'[redis]\nurl = "{redis_url}"\n', 1)
    state = _state(tmp_path, config, text)
    old_sync = state.cache_sync = await start_cache_sync(state.ready_router())
    assert old_sync is not None
    assert state.config_path is not None
    state.config_path.write_text(text.replace("ttl_s = ", "ttl_s = 1", 1))
    report = await reload_config(state)
    try:
        assert report["cache"].startswith("rebuilt")
        assert state.cache_sync is not None and state.cache_sync is not old_sync
        assert state.cache_sync.cache is state.ready_router().cache
    finally:
        if state.cache_sync is not None:
            await state.cache_sync.aclose()


async def test_a_bad_file_leaves_the_running_config_live(tmp_path: Path, config: Config) -> None:
    text = _text(config)
    state = _state(tmp_path, config, text)
    live, engine = state.config, state.ready_router()
    assert state.config_path is not None
    for bad, says in (
        (text.replace("daily_usd = 0 ", "daily_usd = -5 ", 1), "[budget.daily_usd]"),
        (text + "\n[budget\n", "not valid TOML"),
    ):
        state.config_path.write_text(bad)
        with pytest.raises(ConfigError) as info:
            await reload_config(state)
        assert str(state.config_path) in str(info.value) and says in str(info.value)
        assert state.config is live and state.ready_router() is engine
    state.config_path.write_text(text.replace("daily_usd = 0 ", "daily_usd = 5 ", 1))
    assert (await reload_config(state))["budget"] == "rebuilt"  # a good file still reloads
    assert state.config.budget.daily_usd == 5.0 and state.ready_router() is not engine


async def test_the_file_is_read_off_the_event_loop(tmp_path: Path, config: Config) -> None:
    """semroute.toml as a FIFO: reading it waits until it is written. Meanwhile the event loop
    goes on (it serves requests on the old router); on the loop, it would stand still."""
    text = _text(config)
    state = _state(tmp_path, config, text)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    state.config_path = fifo
    changed = text.replace("daily_usd = 0 ", "daily_usd = 5 ", 1)
    unblock = threading.Timer(5.0, fifo.write_text, (changed,))  # frees a blocked loop
    unblock.daemon = True
    unblock.start()
    reloading = asyncio.ensure_future(reload_config(state))
    try:
        for _ in range(5):
            await asyncio.sleep(0.01)  # would run only once the blocking read is over
        assert not reloading.done(), "the event loop stood still while the file was read"
    finally:
        unblock.cancel()  # the file is written below, once
    await anyio.to_thread.run_sync(fifo.write_text, changed)
    report = await asyncio.wait_for(reloading, 10)
    assert report["budget"] == "rebuilt" and state.config.budget.daily_usd == 5.0


async def test_a_changed_key_budget_rebuilds_the_budget(tmp_path: Path, config: Config) -> None:
    """A key's ``daily_usd`` is part of the budget: a reload that changes only it applies it."""
    text = _text(config)
    state = _state(tmp_path, config, text)
    assert state.config_path is not None
    key = f'\n[[auth.keys]]\nname = "batch"\nsha256 = "{"0" * 64}"\n'
    state.config_path.write_text(text + key)
    assert (await reload_config(state))["budget"] == "kept"  # a key without a budget of its own
    assert state.ready_router().spending.key_limits == {}
    state.config_path.write_text(text + key + "daily_usd = 2.5\n")
    assert (await reload_config(state))["budget"] == "rebuilt"
    assert state.ready_router().spending.scope("key:batch") == ("key:batch", 2_500_000)
    assert (await reload_config(state))["budget"] == "kept"  # nothing changed
