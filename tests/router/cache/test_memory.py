"""The router's use of the cache: a small cache is searched inline, a large one in a worker
thread; both give the same answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from router import Router
from router.cache.namespaces import namespace
from router.cache.policy import INLINE_ENTRIES, CacheMemory
from router.cache.semantic import SemanticCache, new_entry_id
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


async def test_a_key_limited_to_one_model_is_never_served_another_models_answer(
    config: Config,
) -> None:
    encoder = HashingEncoder()
    cache = SemanticCache(CacheConfig(verify=False), encoder.dim)
    r = Router.from_config(config, encoder, build_providers(config, environ={}), cache=cache)
    text = "write a python function that reverses a list"
    first = await r.complete(ask(text))
    assert not first.cached and len(cache) == 1
    tier = config.models[first.model].tier
    other = next(m for m, spec in config.models.items() if spec.tier is tier and m != first.model)
    limited = replace(ask(text), allowed_models=frozenset({other}))
    answer = await r.complete(limited)
    assert not answer.cached
    assert answer.model == other
    # the limited key's own answer is reused for it, and only for it
    assert len(cache) == 2
    assert (await r.complete(ask(text))).model == first.model
    assert (await r.complete(replace(ask(text), allowed_models=frozenset({other})))).cached


async def test_an_entry_for_a_model_the_key_may_not_use_is_refused(config: Config) -> None:
    """Defence in depth: even inside one namespace (e.g. entries written by an older version),
    a hit from a model outside the key's allow-list is a miss."""
    encoder = HashingEncoder()
    cache = SemanticCache(CacheConfig(verify=False), encoder.dim)
    r = Router.from_config(config, encoder, build_providers(config, environ={}), cache=cache)
    text = "write a python function that reverses a list"
    first = await r.complete(ask(text))
    limited = replace(ask(text), allowed_models=frozenset({"llama-3-1-8b"}))
    (entry,) = cache.entries()
    planted = replace(entry, id=new_entry_id(), namespace=namespace(limited, entry.model_tier))
    cache.put(planted)
    found = await r.memory.look_up(
        limited,
        first.decision.budget_tier,
        encoder.encode([text])[0],
        "code",
        first.decision.candidates,
    )
    assert not found.info.hit and found.entry is None
    assert "not allowed" in " ".join(found.info.refused)
    assert (await r.complete(limited)).model == "llama-3-1-8b"  # answered, not from the cache
