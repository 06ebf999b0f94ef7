"""Two semroute instances on one real Redis: they share the budget, the cache and breakers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from router import Router
from router.config.settings import Config
from router.execution.deployments import build_providers
from service.app import create_app
from service.context import key_digest
from service.wiring import build_breakers, build_cache, build_spending
from tests.conftest import make_test_config, write_test_centroids
from tests.fakes import HashingEncoder
from tests.serving import serve


def replica_config(root: Path, redis_url: str) -> Config:
    encoder = HashingEncoder()
    centroids = root / "centroids"
    if not centroids.exists():
        write_test_centroids(centroids, encoder)
    raw = make_test_config(centroids).model_dump()
    raw["redis"]["url"] = redis_url
    raw["budget"]["daily_usd"] = 1.0
    raw["cache"]["verify"] = False
    return Config.model_validate(raw)


def replica(config: Config) -> Router:
    encoder = HashingEncoder()
    return Router.from_config(
        config,
        encoder,
        build_providers(config, environ={}),
        spending=build_spending(config),
        cache=build_cache(config, encoder.dim),
        breakers=build_breakers(config),
    )


@pytest.fixture
def two(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str, Router, Router]]:
    config = replica_config(tmp_path, redis_url)
    a, b = replica(config), replica(config)
    with serve(create_app(config, a)) as url_a, serve(create_app(config, b)) as url_b:
        yield url_a, url_b, a, b


def chat(
    url: str, text: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        timeout=30,
        headers=headers,
        json={"model": "auto", "messages": [{"role": "user", "content": text}], **extra},
    )


def test_replicas_share_the_budget(two: tuple[str, str, Router, Router]) -> None:
    url_a, url_b, _, _ = two
    before = httpx.post(url_b + "/v1/route", json={"input": "hi"}).json()["budget_remaining"]
    for i in range(5):
        assert chat(url_a, f"write a python function number {i}", max_tokens=500).status_code == 200
    after = httpx.post(url_b + "/v1/route", json={"input": "hi"}).json()["budget_remaining"]
    assert after < before  # B sees what A spent


def test_replicas_share_the_cache(two: tuple[str, str, Router, Router]) -> None:
    url_a, url_b, _, b = two
    first = chat(url_a, "hi how are you")
    assert first.headers["x-semroute-cache"] == "miss"
    deadline = time.monotonic() + 5
    while len(b.cache or []) == 0:  # replicated through the Redis stream
        assert time.monotonic() < deadline, "the entry never reached replica B"
        time.sleep(0.05)
    second = chat(url_b, "hi how are you")
    assert second.headers["x-semroute-cache"] == "hit"
    assert (
        second.json()["choices"][0]["message"]["content"]
        == first.json()["choices"][0]["message"]["content"]
    )


async def test_replicas_agree_on_breakers(two: tuple[str, str, Router, Router]) -> None:
    _, _, a, b = two
    dep = "gpt-4o-mini@mock/gpt-4o-mini"
    for _ in range(3):
        await a.breakers.record_failure(dep)
    assert not await b.breakers.acquire(dep)  # opened by A's failures, refused on B


BATCH_KEY, APP_KEY = "sk-batch-0123456789", "sk-app-0123456789"


def test_replicas_share_a_keys_own_budget(tmp_path: Path, redis_url: str) -> None:
    """A key's ``daily_usd`` lives in Redis like the global budget: B sees what A spent on the
    key, and the global budget (another key's) is untouched by it."""
    raw = replica_config(tmp_path, redis_url).model_dump()
    raw["auth"] = {
        "enabled": True,
        "keys": [
            {"name": "batch", "sha256": key_digest(BATCH_KEY), "daily_usd": 0.5},
            {"name": "app", "sha256": key_digest(APP_KEY)},
        ],
    }
    config = Config.model_validate(raw)
    batch, app = ({"authorization": f"Bearer {k}"} for k in (BATCH_KEY, APP_KEY))

    def remaining(url: str, headers: dict[str, str]) -> float:
        r = httpx.post(url + "/v1/route", json={"input": "hi"}, headers=headers)
        return float(r.json()["budget_remaining"])

    a, b = replica(config), replica(config)
    with serve(create_app(config, a)) as url_a, serve(create_app(config, b)) as url_b:
        assert remaining(url_b, batch) == remaining(url_b, app) == 1.0
        for i in range(3):
            done = chat(url_a, f"write a python function number {i}", batch, max_tokens=500)
            assert done.status_code == 200
        assert remaining(url_b, batch) < 1.0  # B sees what A spent on the key
        assert remaining(url_b, app) == 1.0  # charged to the key's budget, not the global one
