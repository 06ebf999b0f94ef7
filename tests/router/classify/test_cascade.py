"""The encoder cascade: the static first stage decides clear requests, the transformer the rest;
the cache still works in the transformer's space."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from router import Router
from router.cache.semantic import SemanticCache
from router.classify.cascade import STATIC, FirstStage, build_first_stage
from router.classify.centroids import load_centroids
from router.config.settings import CacheConfig, Config
from router.encoders import Vectors
from router.execution.deployments import build_providers
from router.types import ChatRequest, Message
from tests.conftest import write_test_centroids
from tests.fakes import HashingEncoder


def req(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),))


class CountingEncoder(HashingEncoder):
    """The 'transformer' of these tests: counts the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return super().encode(texts)


@pytest.fixture
def first_stage(tmp_path: Path) -> FirstStage:
    static = HashingEncoder(dim=256, name="hashing-static")
    root = write_test_centroids(tmp_path / "static-centroids", static)
    return FirstStage(static, load_centroids(root, "v1", encoder_name=static.name, dim=256), 0.05)


def cascade_router(config: Config, stage: FirstStage, cache: SemanticCache | None = None) -> Router:
    return Router.from_config(
        config,
        CountingEncoder(),
        build_providers(config, environ={}),
        cache=cache,
        first_stage=stage,
    )


async def test_a_clear_request_is_decided_by_the_static_stage_alone(
    config: Config, first_stage: FirstStage
) -> None:
    r = cascade_router(config, first_stage)
    d = await r.route(req("write a haiku poem about rain"))
    assert d.match is not None
    assert (d.match.task, d.match.stage, d.route) == ("creative", STATIC, "creative")
    assert d.embedded is not None and d.embedded.text == "write a haiku poem about rain"
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 0


async def test_an_unclear_request_goes_to_the_transformer(
    config: Config, first_stage: FirstStage
) -> None:
    r = cascade_router(config, first_stage)
    # Words of two tasks: the static top-2 margin is small.
    d = await r.route(req("poem python"))
    assert d.match is not None and d.match.stage == "transformer"
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 1
    assert d.centroid_version == r.centroids.version


async def test_not_confident_static_matches_are_not_final(
    config: Config, first_stage: FirstStage
) -> None:
    strict = FirstStage(first_stage.encoder, first_stage.centroids, margin=1.01)
    r = cascade_router(config, strict)
    d = await r.route(req("write a haiku poem about rain"))
    assert d.match is not None and d.match.stage == "transformer"


async def test_the_cache_gets_the_transformer_vector_when_the_static_stage_decided(
    config: Config, first_stage: FirstStage
) -> None:
    cache = SemanticCache(CacheConfig(verify=False), 1024)
    r = cascade_router(config, first_stage, cache)
    ask = req("write a haiku poem about the sea at night")
    first = await r.complete(ask)
    assert first.decision.match is not None and first.decision.match.stage == STATIC
    assert not first.cached
    assert len(cache) == 1  # stored with a 1024-d (transformer-space) vector
    again = await r.complete(ask)
    assert again.cached and again.provider == "cache"


async def test_route_does_not_pay_a_transformer_embedding_for_a_cache_lookup(
    config: Config, first_stage: FirstStage
) -> None:
    cache = SemanticCache(CacheConfig(verify=False), 1024)
    r = cascade_router(config, first_stage, cache)
    d = await r.route(req("write a haiku poem about rain"))
    assert d.match is not None and d.match.stage == STATIC
    assert d.cache is not None and not d.cache.hit
    assert "static first stage" in (d.cache.skipped or "")
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 0


async def test_the_static_stage_stands_aside_for_another_transformer_version(
    config: Config, first_stage: FirstStage, caplog: pytest.LogCaptureFixture
) -> None:
    other = FirstStage(first_stage.encoder, first_stage.centroids, 0.05, companion="v0")
    with caplog.at_level(logging.WARNING, logger="semroute.router"):
        r = cascade_router(config, other)
    assert "stands aside" in caplog.text
    d = await r.route(req("write a haiku poem about rain"))
    assert d.match is not None and d.match.stage == "transformer"
    assert FirstStage(first_stage.encoder, first_stage.centroids, 0.05, "v1").fits("v1")


def test_a_first_stage_that_does_not_load_turns_the_cascade_off_not_the_service(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    # The test centroids directory has no static-v1.
    with caplog.at_level(logging.ERROR, logger="semroute.encoder"):
        assert build_first_stage(config) is None
    assert "cascade off" in caplog.text


def test_build_first_stage_is_off_when_disabled_or_when_the_encoder_is_static(
    config: Config,
) -> None:
    off = config.encoder.cascade.model_copy(update={"enabled": False})
    assert build_first_stage(_with_encoder(config, cascade=off)) is None
    assert build_first_stage(_with_encoder(config, backend="static")) is None


@pytest.mark.slow
def test_the_shipped_first_stage_loads_with_its_fitted_model() -> None:
    from router.config.settings import load_config

    stage = build_first_stage(load_config())
    assert stage is not None
    assert stage.centroids.version == "static-v2"
    assert stage.encoder.dim == 256


def _with_encoder(config: Config, **update: object) -> Config:
    return config.model_copy(update={"encoder": config.encoder.model_copy(update=update)})
