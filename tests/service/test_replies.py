"""The chat answer's JSON is built without pydantic: it must be exactly the documented
``ChatCompletionResponse`` (nothing missing, nothing extra), for a miss and for a cache hit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from router import Router
from router.cache.semantic import SemanticCache
from router.config.settings import Config
from router.execution.deployments import build_providers
from service.app import create_app
from service.schemas import ChatCompletionResponse
from tests.fakes import HashingEncoder


def without_verification(config: Config) -> Config:
    return config.model_copy(update={"cache": config.cache.model_copy(update={"verify": False})})


def assert_documented(body: dict[str, Any]) -> None:
    model = ChatCompletionResponse.model_validate(body)
    # Optional fields (logprobs, *_tokens_details) appear only when the upstream sent them.
    assert model.model_dump(mode="json", exclude_unset=True) == body
    assert set(ChatCompletionResponse.model_fields) == set(body)


def test_answers_match_the_documented_schema(config: Config) -> None:
    config = without_verification(config)
    encoder = HashingEncoder()
    router = Router.from_config(
        config,
        encoder,
        build_providers(config, environ={}),
        cache=SemanticCache(config.cache, encoder.dim),
    )
    chat = {"model": "auto", "messages": [{"role": "user", "content": "write a python function"}]}
    with TestClient(create_app(config, router)) as client:
        miss = client.post("/v1/chat/completions", json=chat)
        hit = client.post("/v1/chat/completions", json=chat)
    assert miss.status_code == hit.status_code == 200
    assert miss.json()["semroute"]["cache"] == "miss"
    assert hit.json()["semroute"]["cache"] == "hit"
    assert isinstance(hit.json()["semroute"]["cache_similarity"], float)
    for r in (miss, hit):
        assert_documented(r.json())
        info = r.json()["semroute"]
        assert r.headers["x-semroute-model"] == info["model"]
        assert r.headers["x-semroute-attempts"] == str(len(info["attempts"]))
        assert r.headers["x-semroute-cache"] == info["cache"]
