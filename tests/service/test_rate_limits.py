"""[limits]: requests and tokens per minute per key and per tenant, in memory and shared through a
real Redis by two semroute instances; the official openai client sees the 429."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from router.cache import SemanticCache
from router.config import DEFAULT_CONFIG, Config, load_config
from router.core import Router
from router.errors import LimitExceeded
from router.execution import build_providers
from service.app import create_app
from service.context import key_digest
from service.rate_limits import RateLimits, reset_text
from tests.conftest import make_test_config, write_test_centroids
from tests.fakes import HashingEncoder
from tests.redis_server import RedisServer
from tests.serving import serve

KEY_A = "sk-limits-a-0123456789"
KEY_B = "sk-limits-b-0123456789"
HEADERS = ("limit", "remaining", "reset")


def limited(
    config: Config, limits: dict[str, Any], redis_url: str | None = None, **key: Any
) -> Config:
    raw = config.model_dump()
    raw["auth"] = {
        "enabled": True,
        "keys": [
            {"name": "a", "sha256": key_digest(KEY_A), "tenant": "acme", **key},
            {"name": "b", "sha256": key_digest(KEY_B), "tenant": "acme"},
        ],
    }
    raw["limits"] = limits
    raw["cache"]["enabled"] = False  # every request reaches the (mock) upstream
    raw["redis"]["url"] = redis_url
    return Config.model_validate(raw)


def app_for(config: Config) -> Any:
    encoder = HashingEncoder()
    providers = build_providers(config, environ={})  # mock mode: no provider keys
    cache = SemanticCache(config.cache, encoder.dim)
    return create_app(config, Router.from_config(config, encoder, providers, cache=cache))


def chat(text: str = "hi how are you") -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def client_for(config: Config) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(limits: dict[str, Any], **key: Any) -> TestClient:
        client = TestClient(app_for(limited(config, limits, **key)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_requests_per_minute_per_key_with_the_openai_headers(client_for: Any) -> None:
    client = client_for({"per_key": {"requests_per_minute": 2}})
    first = client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert client.post("/v1/route", json={"input": "hi"}, headers=bearer(KEY_A)).status_code == 200
    refused = client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert "key a" in error["message"] and "requests per minute" in error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Key b has an allowance of its own.
    assert (
        client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_B)).status_code == 200
    )


def test_a_key_of_its_own_overrides_per_key(client_for: Any) -> None:
    client = client_for({"per_key": {"requests_per_minute": 1}}, requests_per_minute=3)
    codes = [
        client.post("/v1/route", json={"input": "hi"}, headers=bearer(KEY_A)).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_the_tenant_limit_is_shared_by_its_keys(client_for: Any) -> None:
    client = client_for({"tenants": {"acme": {"requests_per_minute": 2}}})
    assert client.post("/v1/route", json={"input": "x"}, headers=bearer(KEY_A)).status_code == 200
    assert client.post("/v1/route", json={"input": "x"}, headers=bearer(KEY_B)).status_code == 200
    refused = client.post("/v1/route", json={"input": "x"}, headers=bearer(KEY_A))
    assert refused.status_code == 429
    assert "tenant acme" in refused.json()["error"]["message"]


def test_tokens_per_minute_count_the_answers_usage(client_for: Any) -> None:
    client = client_for({"per_key": {"tokens_per_minute": 5}})
    first = client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert first.status_code == 200  # admitted while tokens remain ...
    assert first.headers["x-ratelimit-limit-tokens"] == "5"
    assert first.json()["usage"]["total_tokens"] > 5  # ... and its usage counted afterwards
    refused = client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "tokens"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"


def test_streamed_answers_carry_the_headers_and_count_tokens(client_for: Any) -> None:
    client = client_for({"per_key": {"tokens_per_minute": 5, "requests_per_minute": 10}})
    body = {**chat(), "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body, headers=bearer(KEY_A)) as r:
        assert r.status_code == 200
        assert r.headers["x-ratelimit-remaining-requests"] == "9"
        assert "[DONE]" in r.read().decode()
    assert client.post("/v1/route", json={"input": "x"}, headers=bearer(KEY_A)).status_code == 429


def test_without_limits_nothing_is_counted_or_sent(client_for: Any) -> None:
    client = client_for({})
    assert client.app.state.semroute.limits is None
    r = client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert r.status_code == 200 and "x-ratelimit-limit-requests" not in r.headers


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.02, "20ms"), (0.0, "0ms"), (17.2, "18s"), (60, "1m0s"), (61.5, "1m2s")]
)
def test_reset_durations_are_written_as_openai_does(seconds: float, text: str) -> None:
    assert reset_text(seconds) == text


def test_limits_config_is_validated(config: Config) -> None:
    from router.config import config_from, load_layers
    from router.errors import ConfigError

    with pytest.raises(ConfigError, match=r"per_key\.requests_per_minute.*SEMROUTE_LIMITS"):
        config_from(load_layers(environ={"SEMROUTE_LIMITS__PER_KEY__REQUESTS_PER_MINUTE": "0"}))


# --- shared through a real Redis, two instances -------------------------------------------


@pytest.fixture
def two_replicas(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    centroids = write_test_centroids(tmp_path / "centroids", HashingEncoder())
    config = limited(
        make_test_config(centroids),
        {"tenants": {"acme": {"requests_per_minute": 3}}},
        redis_url=redis_url,
    )
    with serve(app_for(config)) as url_a, serve(app_for(config)) as url_b:
        yield url_a, url_b


def test_two_replicas_share_the_counts_and_openai_sees_the_429(
    two_replicas: tuple[str, str],
) -> None:
    url_a, url_b = two_replicas
    a = openai.OpenAI(base_url=url_a + "/v1", api_key=KEY_A, max_retries=0)
    b = openai.OpenAI(base_url=url_b + "/v1", api_key=KEY_B, max_retries=0)
    messages: Any = [{"role": "user", "content": "hi how are you"}]
    a.chat.completions.create(model="auto", messages=messages)
    raw = b.chat.completions.with_raw_response.create(model="auto", messages=messages)
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"  # B saw A's request
    a.chat.completions.create(model="auto", messages=messages)
    with pytest.raises(openai.RateLimitError) as info:
        b.chat.completions.create(model="auto", messages=messages)
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert info.value.response.headers["x-ratelimit-limit-requests"] == "3"


def test_redis_down_fails_open_or_closed(tmp_path: Path, redis_private: RedisServer) -> None:
    centroids = write_test_centroids(tmp_path / "centroids", HashingEncoder())
    base = make_test_config(centroids)
    limits = {"per_key": {"requests_per_minute": 5}}
    redis_private.stop()
    for mode, expected in (("open", 200), ("closed", 503)):
        config = limited(base, limits, redis_url=redis_private.url)
        raw = config.model_dump()
        raw["redis"]["fail_mode"] = mode
        raw["redis"]["socket_timeout_s"] = 0.2
        with serve(app_for(Config.model_validate(raw))) as url:
            r = httpx.post(url + "/v1/route", json={"input": "hi"}, headers=bearer(KEY_A))
        assert r.status_code == expected, (mode, r.text)


async def test_an_admin_reload_applies_new_limits_and_keeps_the_counts(
    tmp_path: Path, config: Config
) -> None:
    from service.reload import reload_config
    from service.state import ServiceState

    text = DEFAULT_CONFIG.read_text().replace(
        '# centroids_dir = "centroids"', f'centroids_dir = "{config.routing.centroids_dir}"'
    )
    path = tmp_path / "semroute.toml"
    path.write_text(text.replace("per_tenant = {}", "per_tenant = { requests_per_minute = 5 }"))
    loaded = load_config(path, environ={})
    encoder = HashingEncoder()
    state = ServiceState(
        config=loaded,
        config_path=path,
        router=Router.from_config(loaded, encoder, build_providers(loaded, environ={})),
        limits=RateLimits.from_config(loaded),
    )
    assert state.limits is not None
    await state.limits.admit("default", None)
    limited = text.replace("per_tenant = {}", "per_tenant = { requests_per_minute = 5 }")
    path.write_text(
        limited.replace("tenants = {}", "tenants = { shop = { tokens_per_minute = 9 } }")
    )
    await reload_config(state)  # another section of [limits] changed: the counts stay
    assert state.limits is not None
    admitted = await state.limits.admit("default", None)
    assert admitted is not None and admitted.headers["x-ratelimit-remaining-requests"] == "3"
    path.write_text(text.replace("per_tenant = {}", "per_tenant = { requests_per_minute = 1 }"))
    await reload_config(state)  # a new allowance: counted afresh (limits keys by the amount)
    assert state.limits is not None
    await state.limits.admit("default", None)
    with pytest.raises(LimitExceeded):
        await state.limits.admit("default", None)
    path.write_text(text)
    await reload_config(state)
    assert state.limits is None  # nothing limited any more


async def test_a_reload_shares_the_counts_store_only_while_redis_is_the_same(
    config: Config, redis_private: RedisServer
) -> None:
    """The store of a changed [redis] is a new one (the old one is closed by the reload)."""
    every_key = {"per_key": {"requests_per_minute": 5}}
    shared = limited(config, every_key, redis_url=redis_private.url)
    limits = RateLimits.from_config(shared)
    assert limits is not None
    await limits.admit("acme", shared.auth.keys[0])
    same = limits.reconfigured(
        limited(config, {"per_key": {"tokens_per_minute": 9}}, redis_private.url)
    )
    assert same is not None and same.storage is limits.storage
    local = limits.reconfigured(limited(config, every_key))
    assert local is not None and local.storage is not limits.storage
    assert limits.reconfigured(limited(config, {})) is None
    await limits.aclose()
    await local.aclose()
