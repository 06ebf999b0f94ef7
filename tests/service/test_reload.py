"""POST /admin/reload keeps what its sections did not change: the encoders (the cascade's
static first stage with them) and the breakers, whose state is the providers' health."""

from __future__ import annotations

from pathlib import Path

from router import Router
from router.cache import SemanticCache
from router.classify import FirstStage, load_centroids
from router.config import DEFAULT_CONFIG, Config, load_config
from router.execution import build_providers
from service.reload import reload_config
from service.state import ServiceState
from service.wiring import start_cache_sync
from tests.fakes import HashingEncoder


def _state(tmp_path: Path, config: Config, text: str) -> ServiceState:
    path = tmp_path / "semroute.toml"
    path.write_text(text)
    loaded = load_config(path, environ={})
    encoder = HashingEncoder()
    centroids = load_centroids(
        loaded.routing.centroids_dir, encoder_name=encoder.name, dim=encoder.dim
    )
    router = Router.from_config(
        loaded,
        encoder,
        build_providers(loaded, environ={}),
        cache=SemanticCache(loaded.cache, encoder.dim),
        first_stage=FirstStage(encoder, centroids, margin=0.1),
    )
    return ServiceState(config=loaded, config_path=path, router=router)


async def test_a_reload_keeps_the_first_stage_and_the_breakers(
    tmp_path: Path, config: Config
) -> None:
    text = DEFAULT_CONFIG.read_text().replace(
        '# centroids_dir = "centroids"', f'centroids_dir = "{config.routing.centroids_dir}"'
    )
    state = _state(tmp_path, config, text)
    old = state.ready_router()
    assert state.config_path is not None
    state.config_path.write_text(text.replace("daily_usd = 0 ", "daily_usd = 5 ", 1))
    report = await reload_config(state)
    new = state.ready_router()
    assert new is not old and report["budget"] == "rebuilt"
    assert new.first_stage is old.first_stage is not None  # the cascade stays on
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
