"""Budget and semantic cache through the HTTP API (openai SDK → semroute → loopback upstream)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from router import Router
from router.budget.spending import Spending
from router.cache.semantic import SemanticCache
from router.config.settings import Config
from router.execution.deployments import build_providers
from service.app import create_app
from service.context import key_digest
from tests.fakes import HashingEncoder
from tests.service.test_chat_e2e import KEYS, stack_config
from tests.serving import serve
from tests.upstreams import Upstream


@dataclass
class Stack:
    upstream: Upstream
    url: str
    router: Router

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0)


def build(centroid_dir: Any, up: Upstream, **overrides: Any) -> tuple[Config, Router]:
    urls = {"primary": up.base_url, "secondary": up.base_url, "third": up.base_url}
    raw = stack_config(centroid_dir, urls).model_dump()
    for section, values in overrides.items():
        raw[section].update(values)
    for model in raw["models"].values():  # expensive models: a few calls spend the budget
        model.update(input_price=100.0, output_price=1000.0)
    config = Config.model_validate(raw)
    encoder = HashingEncoder()
    cache = SemanticCache(config.cache, encoder.dim) if config.cache.enabled else None
    router = Router.from_config(
        config,
        encoder,
        build_providers(config, KEYS),
        spending=Spending(config.budget),
        cache=cache,
    )
    return config, router


@pytest.fixture
def stack(centroid_dir: Any, request: pytest.FixtureRequest) -> Iterator[Stack]:
    overrides = getattr(request, "param", {})
    with Upstream("up") as up:
        config, router = build(centroid_dir, up, **overrides)
        with serve(create_app(config, router)) as url:
            yield Stack(up, url, router)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


NO_VERIFY = {"cache": {"verify": False}}


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_second_identical_request_is_served_from_the_cache(stack: Stack) -> None:
    client = stack.client()
    first = client.chat.completions.with_raw_response.create(
        model="auto", messages=ask("hi how are you")
    )
    assert first.headers["x-semroute-cache"] == "miss"
    second = client.chat.completions.with_raw_response.create(
        model="auto", messages=ask("hi how are you")
    )
    assert second.headers["x-semroute-cache"] == "hit"
    assert second.headers["x-semroute-provider"] == "cache"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert stack.upstream.calls == 1
    info = (second.parse().model_extra or {})["semroute"]
    assert info["cache_similarity"] >= 0.99
    route = httpx.post(stack.url + "/v1/route", json={"messages": ask("hi how are you")}).json()
    assert route["cache"]["hit"] is True


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_cached_answer_streams_back_as_sse(stack: Stack) -> None:
    client = stack.client()
    client.chat.completions.create(model="auto", messages=ask("hi how are you"))
    stream = client.chat.completions.create(
        model="auto", messages=ask("hi how are you"), stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello from up"
    assert stack.upstream.calls == 1


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_completed_streams_are_cached_partial_ones_never(stack: Stack) -> None:
    client = stack.client()
    stack.upstream.script("reset_mid_stream")
    with pytest.raises(openai.APIError):
        list(
            client.chat.completions.create(
                model="auto", messages=ask("hi how are you"), stream=True
            )
        )
    assert len(stack.router.cache or []) == 0
    list(client.chat.completions.create(model="auto", messages=ask("hi how are you"), stream=True))
    assert len(stack.router.cache or []) == 1


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_cache_never_crosses_parameters(stack: Stack) -> None:
    client = stack.client()
    client.chat.completions.create(model="auto", messages=ask("hi how are you"))
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=ask("hi how are you"), temperature=1.2
    )
    assert raw.headers["x-semroute-cache"] == "miss"
    system = [{"role": "system", "content": "Answer in French."}, *ask("hi how are you")]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=system)  # type: ignore[arg-type]
    assert raw.headers["x-semroute-cache"] == "miss"


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_a_tool_result_is_never_answered_with_the_question_s_answer(stack: Stack) -> None:
    # An agent loop: the same question, now followed by the tool call and its result.
    client = stack.client()
    client.chat.completions.create(model="auto", messages=ask("hi how are you"))
    call = {"id": "c1", "type": "function", "function": {"name": "track", "arguments": "{}"}}
    turns: list[Any] = [
        *ask("hi how are you"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "shipped yesterday"},
    ]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=turns)
    assert raw.headers["x-semroute-cache"] == "miss"
    assert stack.upstream.calls == 2


@pytest.mark.parametrize("stack", [NO_VERIFY], indirect=True)
def test_long_documents_share_answers_with_exact_repeats_only(stack: Stack) -> None:
    # Two leases with the same boilerplate around them: the vector sees head and tail only.
    head, tail = "hi how are you " * 300, " hi how are you" * 100

    def lease(rent: str) -> list[dict[str, str]]:
        return ask(f"{head}\nThe monthly rent is {rent}.\n{tail}")

    client = stack.client()
    client.chat.completions.create(model="auto", messages=lease("500 dollars"))  # type: ignore[arg-type]
    other = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=lease("9000 dollars"),  # type: ignore[arg-type]
    )
    assert other.headers["x-semroute-cache"] == "miss"
    again = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=lease("500 dollars"),  # type: ignore[arg-type]
    )
    assert again.headers["x-semroute-cache"] == "hit"
    assert stack.upstream.calls == 2


@pytest.mark.parametrize(
    "stack", [{"cache": {"verify": False}, "budget": {"daily_usd": 0.1}}], indirect=True
)
def test_budget_runs_out_then_cache_only_then_429(stack: Stack) -> None:
    client = stack.client()
    seen: list[str] = []
    refused: list[openai.RateLimitError] = []
    for i in range(40):
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="auto", messages=ask(f"hi how are you {i}"), max_tokens=20
            )
        except openai.RateLimitError as exc:
            refused.append(exc)
            break
        seen.append(raw.headers["x-semroute-tier"])
    assert refused, "the budget never ran out"
    assert refused[0].code == "budget_exhausted"
    retry_after = int(refused[0].response.headers["retry-after"])
    assert 1 <= retry_after <= 86_400  # until the budget day resets
    assert seen[0] == "quality"
    # Out of budget: a request the cache can answer is still served, for free.
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=ask("hi how are you 0"), max_tokens=20
    )
    assert raw.headers["x-semroute-cache"] == "hit"
    assert raw.headers["x-semroute-tier"] != "quality"
    route = httpx.post(
        stack.url + "/v1/route", json={"messages": ask("hi how are you 0"), "max_tokens": 20}
    ).json()
    assert route["budget_tier"] != "quality"
    assert route["budget_remaining"] < 0.3


@pytest.mark.parametrize("stack", [{"budget": {"daily_usd": 0.1}}], indirect=True)
def test_critical_traffic_may_use_the_reserve(stack: Stack) -> None:
    client = stack.client()
    for i in range(40):
        try:
            client.chat.completions.create(model="auto", messages=ask(f"hi {i}"), max_tokens=20)
        except openai.RateLimitError:
            break
    done = client.chat.completions.create(
        model="auto",
        messages=ask("hi urgent"),
        max_tokens=10,
        extra_headers={"x-semroute-priority": "critical"},
    )
    assert done.choices[0].message.content == "Hello from up"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="auto", messages=ask("hi"), extra_headers={"x-semroute-priority": "vip"}
        )


def test_math_is_never_cached(stack: Stack) -> None:
    client = stack.client()
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="auto:math", messages=ask("what is 17 times 23")
        )
    assert raw.headers["x-semroute-cache"] == "miss"
    assert stack.upstream.calls == 2
    route = httpx.post(
        stack.url + "/v1/route", json={"model": "auto:math", "messages": ask("what is 17 times 23")}
    ).json()
    assert "never cached" in route["cache"]["skipped"]


ALL_KEY, GAMMA_KEY = "sk-all-models-0123", "sk-gamma-only-4567"
KEYED = {
    "cache": {"verify": False},
    "auth": {
        "enabled": True,
        "keys": [
            {"name": "all", "sha256": key_digest(ALL_KEY), "tenant": "acme"},
            {
                "name": "gamma-only",
                "sha256": key_digest(GAMMA_KEY),
                "tenant": "acme",
                "allowed_models": ["gamma"],
            },
        ],
    },
}


@pytest.mark.parametrize("stack", [KEYED], indirect=True)
def test_a_key_limited_to_one_model_never_gets_another_models_cached_answer(
    stack: Stack,
) -> None:
    def ask_as(key: str, text: str) -> httpx.Headers:
        client = openai.OpenAI(base_url=stack.url + "/v1", api_key=key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(model="auto", messages=ask(text))
        return raw.headers

    questions = [f"hi how are you doing today {i}" for i in range(4)]
    for text in questions:  # the unrestricted key fills the tenant's cache from alpha
        assert ask_as(ALL_KEY, text)["x-semroute-model"] == "alpha"
        assert ask_as(ALL_KEY, text)["x-semroute-cache"] == "hit"
    for text in questions:
        headers = ask_as(GAMMA_KEY, text)
        assert (headers["x-semroute-model"], headers["x-semroute-cache"]) == ("gamma", "miss")
        headers = ask_as(GAMMA_KEY, text)  # its own answers are reused, for it
        assert (headers["x-semroute-model"], headers["x-semroute-cache"]) == ("gamma", "hit")
