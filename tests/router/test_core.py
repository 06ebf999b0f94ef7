"""Router facade with the hashing encoder: explicit routes, auto routing, fallback to default."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import Router
from router.classify.centroids import CentroidSet
from router.classify.conversation import Turns, last_weight, user_turns
from router.config.settings import Config, ContextConfig
from router.errors import ArtifactError, InvalidRequest, NoCandidate
from router.types import BudgetTier, ChatRequest, Message, Priority, Usage
from tests.fakes import HashingEncoder


def req(*texts: str, model: str = "auto", **kw: object) -> ChatRequest:
    roles = ["user", "assistant"]
    msgs = tuple(Message(role=roles[i % 2], content=t) for i, t in enumerate(texts))
    return ChatRequest(messages=msgs, model=model, **kw)  # type: ignore[arg-type]


async def test_auto_routes_to_the_task_list(router: Router) -> None:
    d = await router.route(req("please write a python function to fix this bug"))
    assert d.match is not None and d.match.task == "code" and d.match.confident
    assert d.route == "code"
    assert [c.model for c in d.candidates] == router.config.tasks["code"].models
    assert d.centroid_version == "v1"
    assert d.latency_ms["route_ms"] >= d.latency_ms["classify_ms"] >= 0


async def test_not_confident_goes_to_the_default_route(router: Router) -> None:
    d = await router.route(req("xylophone marmalade"))  # shares no word with any task
    assert d.match is not None and not d.match.confident
    assert d.route == "default"
    assert [c.model for c in d.candidates] == router.config.routing.default_route


async def test_auto_task_skips_classification(router: Router) -> None:
    calls = router.encoder.calls  # type: ignore[attr-defined]
    d = await router.route(req("anything at all", model="auto:math"))
    assert d.match is None and d.route == "math"
    assert router.encoder.calls == calls  # type: ignore[attr-defined]


async def test_named_model_is_not_routed(router: Router) -> None:
    d = await router.route(req("hello", model="gpt-4o-mini"))
    assert d.match is None and [c.model for c in d.candidates] == ["gpt-4o-mini"]


@pytest.mark.parametrize("model", ["gpt-17", "auto:poetry", "auto:"])
async def test_unknown_models_and_tasks_are_client_errors(router: Router, model: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        await router.route(req("hello", model=model))
    assert info.value.code == "model_not_found" and info.value.param == "model"


async def test_priority_reorders(router: Router) -> None:
    d = await router.route(req("write a python function", priority=Priority.COST))
    prices = [router.config.models[c.model].input_price for c in d.candidates]
    assert prices == sorted(prices)


async def test_requirements_filter_models(router: Router) -> None:
    tools = ({"type": "function", "function": {"name": "f", "parameters": {}}},)
    d = await router.route(req("hi how are you", tools=tools))
    assert all("tools" in router.config.models[c.model].capabilities for c in d.candidates)
    assert any("lacks tools" in s.reason for s in d.skipped)


async def test_impossible_requirements_raise_no_candidate(router: Router) -> None:
    huge = "word " * 900_000  # ~1.1M estimated tokens: larger than every window
    with pytest.raises(NoCandidate, match="context"):
        await router.route(req(huge, model="auto:chat"))


async def test_long_text_is_truncated_and_says_so(router: Router) -> None:
    d = await router.route(req("summarize this article " + "lorem ipsum " * 1000))
    assert d.embedded is not None and d.embedded.truncated
    assert d.embedded.original_chars > len(d.embedded.text)


async def test_follow_up_stays_on_the_conversation_task(router: Router) -> None:
    d = await router.route(
        req(
            "write a python function to fix a compile error in my class",
            "def parse(path): ...",
            "ok now make it faster",
        )
    )
    assert d.match is not None and d.match.task == "code"
    assert d.embedded is not None and d.embedded.context_turns == 1


async def test_long_new_request_keeps_its_own_task(router: Router) -> None:
    d = await router.route(
        req(
            "write a python function",
            "def f(): ...",
            "now write a poem a story and a haiku about autumn rain with lyrics for a song",
        )
    )
    assert d.match is not None and d.match.task == "creative"


def test_user_turns_pick_recent_user_messages() -> None:
    msgs = [
        Message("system", "You are helpful."),
        Message("user", "one"),
        Message("assistant", "a"),
        Message("user", "two"),
        Message("user", "   "),
        Message("user", "three"),
        Message("user", "four"),
    ]
    turns = user_turns(msgs, ContextConfig(turns=2))
    assert turns == Turns(last="four", context=("two", "three"))
    assert user_turns(msgs, ContextConfig(turns=0)).context == ()
    assert user_turns([Message("system", "only system")], ContextConfig()).last == "only system"


def test_short_follow_ups_lean_on_context() -> None:
    cfg = ContextConfig(last_weight=0.6, short_message_words=8, short_last_weight=0.35)
    assert last_weight(Turns("ok make it faster", ("x",)), cfg) == 0.35
    assert last_weight(Turns("a long and detailed brand new request " * 3, ("x",)), cfg) == 0.6
    assert last_weight(Turns("anything", ()), cfg) == 1.0


async def test_exhausted_budget_is_cache_only(config: Config, encoder: object) -> None:
    from router.budget.ledger import MemoryLedger
    from router.budget.spending import Spending
    from router.cache.semantic import SemanticCache
    from router.config.settings import BudgetConfig, CacheConfig
    from router.errors import BudgetExhausted
    from router.execution.deployments import build_providers
    from router.types import PriorityClass

    ledger = MemoryLedger()
    spending = Spending(BudgetConfig(daily_usd=1.0), ledger)
    cache = SemanticCache(CacheConfig(verify=False), 1024)
    r = Router.from_config(
        config, encoder, build_providers(config, environ={}), spending=spending, cache=cache
    )
    hello = req("hi how are you")
    first = await r.complete(hello)  # quality tier: answered upstream (mock) and cached
    assert not first.cached
    held = await spending.admit("default", 0.97, PriorityClass.CRITICAL, retry=False)
    await spending.settle(held, 0.97)
    d = await r.route(hello)
    assert d.budget_tier is BudgetTier.EXHAUSTED
    assert d.candidates == ()
    assert d.cache is not None and d.cache.hit
    again = await r.complete(hello)
    assert again.cached and again.provider == "cache"
    with pytest.raises(BudgetExhausted):
        await r.complete(req("write a python function for this bug"))


async def test_a_finished_stream_answer_carries_its_usage_and_cost(router: Router) -> None:
    session = await router.stream(req("write a python function to fix this bug"))
    text = "".join([str(c.delta.get("content") or "") async for c in session.chunks()])
    assert session.answer.usage == Usage()  # not known before the stream is finished
    await session.close(completed=True)
    answer = session.answer
    assert text and answer.usage == session.usage and answer.usage.completion_tokens > 0
    spec = router.config.models[answer.model]
    expected = (
        answer.usage.prompt_tokens * spec.input_price
        + answer.usage.completion_tokens * spec.output_price
    ) / 1e6
    assert answer.cost_usd == pytest.approx(expected)


async def test_a_completion_answer_carries_its_usage_and_cost(router: Router) -> None:
    answer = await router.complete(req("write a python function to fix this bug"))
    assert answer.usage == answer.result.usage and answer.usage.total_tokens > 0
    spec = router.config.models[answer.model]
    expected = (
        answer.usage.prompt_tokens * spec.input_price
        + answer.usage.completion_tokens * spec.output_price
    ) / 1e6
    assert answer.cost_usd == pytest.approx(expected)


async def test_requests_with_images_are_neither_looked_up_nor_cached(
    config: Config, encoder: object
) -> None:
    """The cache compares text: the same question about two pictures is two questions."""
    from router.cache.semantic import SemanticCache
    from router.config.settings import CacheConfig
    from router.execution.deployments import build_providers

    cache = SemanticCache(CacheConfig(verify=False), 1024)
    r = Router.from_config(config, encoder, build_providers(config, environ={}), cache=cache)

    def about(url: str) -> ChatRequest:
        parts = (
            {"type": "text", "text": "hi how are you, what is in this picture"},
            {"type": "image_url", "image_url": {"url": url}},
        )
        return ChatRequest(messages=(Message(role="user", content=parts),))

    first = await r.complete(about("https://example.com/cat.png"))
    assert not first.cached and len(cache) == 0
    again = await r.complete(about("https://example.com/dog.png"))
    assert not again.cached
    assert again.decision.cache is not None and again.decision.cache.skipped
    assert (await r.complete(req("hi how are you, what is in this picture"))).cached is False
    assert len(cache) == 1  # text alone is cached as before


def test_from_config_takes_centroids_already_loaded(
    config: Config, encoder: HashingEncoder, centroids: CentroidSet, tmp_path: Path
) -> None:
    """``build_transformer`` loads the centroids to check its ONNX file: the router takes those
    and reads none of its own (here there are none to read)."""
    routing = config.routing.model_copy(update={"centroids_dir": tmp_path / "nothing-here"})
    moved = config.model_copy(update={"routing": routing})
    with pytest.raises(ArtifactError):
        Router.from_config(moved, encoder)
    assert Router.from_config(moved, encoder, centroids=centroids).centroids is centroids
