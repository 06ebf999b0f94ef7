"""The router's use of the cache: a small cache is searched inline, a large one in a worker
thread; both give the same answers."""

from __future__ import annotations

import pytest

from router import Router
from router.cache.policy import INLINE_ENTRIES, CacheMemory
from router.cache.semantic import SemanticCache
from router.config.settings import CacheConfig, Config
from router.execution.deployments import build_providers
from router.types import ChatRequest, Message
from tests.fakes import HashingEncoder


def ask(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),), model="auto")


@pytest.mark.parametrize("inline_entries", [INLINE_ENTRIES, 0])
async def test_misses_then_hits_inline_or_in_a_thread(config: Config, inline_entries: int) -> None:
    encoder = HashingEncoder()
    cache = SemanticCache(CacheConfig(verify=False), encoder.dim)
    r = Router.from_config(config, encoder, build_providers(config, environ={}), cache=cache)
    r.memory = CacheMemory(config, cache, inline_entries=inline_entries)
    first = await r.complete(ask("write a python function that reverses a list"))
    assert not first.cached and first.decision.cache is not None
    assert not first.decision.cache.hit and first.decision.cache.similarity == 0.0
    assert len(cache) == 1
    again = await r.complete(ask("write a python function that reverses a list"))
    assert again.cached and again.provider == "cache"
    assert again.decision.cache is not None and again.decision.cache.similarity > 0.99
    other = await r.complete(ask("a haiku about the sea please"))
    assert not other.cached
