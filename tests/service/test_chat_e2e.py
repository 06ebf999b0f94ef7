"""/v1/chat/completions end to end: the official openai SDK → semroute → real loopback upstreams
speaking the OpenAI and Anthropic wire formats, with scripted faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from router import Router
from router.config.settings import Config, load_config
from router.execution.deployments import build_providers
from service.app import create_app
from tests.fakes import HashingEncoder
from tests.serving import serve
from tests.upstreams import Upstream

KEYS = {
    "PRIMARY_KEY": "sk-primary-secret",
    "SECONDARY_KEY": "sk-ant-secondary-secret",
    "THIRD_KEY": "sk-third-secret",
}


@dataclass
class Stack:
    primary: Upstream  # OpenAI wire
    secondary: Upstream  # Anthropic wire
    third: Upstream  # OpenAI wire (e.g. Groq)
    url: str
    router: Router

    def client(self, **kw: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0, **kw)


def stack_config(centroid_dir: Any, urls: dict[str, str]) -> Config:
    raw = load_config().model_dump()
    raw["routing"]["centroids_dir"] = str(centroid_dir)
    raw["outcomes"]["path"] = str(centroid_dir.parent / "outcomes")
    raw["providers"] = {
        "primary": {
            "kind": "openai",
            "base_url": urls["primary"] + "/v1",
            "api_key_env": "PRIMARY_KEY",
            "read_timeout_s": 2,
        },
        "secondary": {
            "kind": "anthropic",
            "base_url": urls["secondary"],
            "api_key_env": "SECONDARY_KEY",
            "read_timeout_s": 2,
        },
        "third": {
            "kind": "openai",
            "base_url": urls["third"] + "/v1",
            "api_key_env": "THIRD_KEY",
            "read_timeout_s": 2,
        },
    }
    raw["models"] = {
        name: {
            "provider": provider,
            "upstream": f"{name}-upstream",
            "input_price": 1,
            "output_price": 2,
            "context_window": 100_000,
            "alternates": alternates,
        }
        for name, provider, alternates in (
            ("alpha", "primary", ["beta"]),
            ("beta", "secondary", []),
            ("gamma", "third", []),
        )
    }
    raw["tasks"] = {t: {**v, "models": ["alpha", "beta", "gamma"]} for t, v in raw["tasks"].items()}
    raw["routing"]["default_route"] = ["alpha", "beta", "gamma"]
    raw["execution"]["first_token_timeout_s"] = 0.7
    raw["execution"]["deadline_s"] = 20
    raw["execution"]["breaker"] = {"failures": 3, "window_s": 60, "cooldown_s": 0.6}
    raw["execution"]["retry"]["rate_limited"] = {"retries": 1, "backoff_s": 0.1, "max_wait_s": 3}
    raw["execution"]["retry"]["provider_unavailable"] = {"retries": 1, "backoff_s": 0.05}
    return Config.model_validate(raw)


@pytest.fixture
def stack(centroid_dir: Any) -> Iterator[Stack]:
    with Upstream("primary") as a, Upstream("secondary") as b, Upstream("third") as c:
        config = stack_config(
            centroid_dir, {"primary": a.base_url, "secondary": b.base_url, "third": c.base_url}
        )
        router = Router.from_config(config, HashingEncoder(), build_providers(config, KEYS))
        with serve(create_app(config, router)) as url:
            yield Stack(a, b, c, url, router)


def ask(text: str = "hi how are you") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_primary_answers_with_semroute_headers(stack: Stack) -> None:
    raw = stack.client().chat.completions.with_raw_response.create(model="auto", messages=ask())
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from primary"
    assert completion.model == "alpha"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["x-semroute-provider"] == "primary"
    assert raw.headers["x-semroute-model"] == "alpha"
    assert raw.headers["x-semroute-attempts"] == "1"
    assert raw.headers["x-semroute-cache"] == "miss"
    assert raw.headers["x-semroute-tier"] == "quality"
    assert raw.headers["x-semroute-task"] == "chat"
    extra = completion.model_extra or {}
    assert extra["semroute"]["model_tier"] == "standard"
    # The upstream got our key, in its own wire format, and the upstream model name.
    sent = stack.primary.requests[0]
    assert sent.headers["authorization"] == "Bearer sk-primary-secret"
    assert sent.body["model"] == "alpha-upstream"


def test_primary_down_secondary_answers(stack: Stack) -> None:
    stack.primary.always("503")
    completion = stack.client().chat.completions.create(model="auto", messages=ask())
    assert completion.choices[0].message.content == "Hello from secondary"
    attempts = (completion.model_extra or {})["semroute"]["attempts"]
    assert [(a["provider"], a["outcome"]) for a in attempts] == [
        ("primary", "provider_unavailable"),
        ("primary", "provider_unavailable"),
        ("secondary", "ok"),
    ]
    sent = stack.secondary.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-secondary-secret"
    assert "anthropic-version" in sent.headers


def test_breaker_opens_skips_probes_after_cooldown_and_closes(stack: Stack) -> None:
    client = stack.client()
    stack.primary.script("500", "500", "500")
    client.chat.completions.create(model="auto", messages=ask())  # 2 failures
    client.chat.completions.create(model="auto", messages=ask())  # 3rd failure: open
    calls = stack.primary.calls
    assert calls == 3
    done = client.chat.completions.create(model="auto", messages=ask())
    assert stack.primary.calls == calls  # skipped while open
    assert (done.model_extra or {})["semroute"]["attempts"][0]["outcome"] == "skipped"
    time.sleep(0.7)  # cooldown: the next request is the single probe, and it succeeds
    done = client.chat.completions.create(model="auto", messages=ask())
    assert done.choices[0].message.content == "Hello from primary"
    assert stack.primary.calls == calls + 1
    states = asyncio.run(stack.router.breakers.states())
    assert states["alpha@primary/alpha-upstream"] == "closed"


def test_auth_failure_goes_to_the_next_provider_without_retry(stack: Stack) -> None:
    stack.primary.always("401")
    completion = stack.client().chat.completions.create(model="auto", messages=ask())
    assert completion.choices[0].message.content == "Hello from secondary"
    assert stack.primary.calls == 1


def test_content_policy_refusal_is_returned_not_retried_elsewhere(stack: Stack) -> None:
    stack.primary.script("content_policy")
    with pytest.raises(openai.BadRequestError) as info:
        stack.client().chat.completions.create(model="auto", messages=ask())
    assert info.value.code == "content_policy"
    assert stack.primary.calls == 1
    assert stack.secondary.calls == 0 and stack.third.calls == 0


def test_rate_limit_honours_retry_after(stack: Stack) -> None:
    stack.primary.script("429:1")
    started = time.monotonic()
    completion = stack.client().chat.completions.create(model="auto", messages=ask())
    assert completion.choices[0].message.content == "Hello from primary"
    assert time.monotonic() - started >= 1.0
    assert stack.primary.calls == 2


def test_every_candidate_failing_is_503_with_the_attempts(stack: Stack) -> None:
    for up in (stack.primary, stack.secondary, stack.third):
        up.always("500")
    resp = httpx.post(
        stack.url + "/v1/chat/completions", json={"model": "auto", "messages": ask()}, timeout=30
    )
    assert resp.status_code == 503
    err = resp.json()["error"]
    assert err["code"] == "all_candidates_failed"
    assert len(err["attempts"]) == 6
    assert "secret" not in resp.text


def test_stream_through_the_sdk(stack: Stack) -> None:
    stream = stack.client().chat.completions.create(
        model="auto", messages=ask(), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from primary"
    assert chunks[-1].usage is not None
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_anthropic_stream_is_translated_to_openai_chunks(stack: Stack) -> None:
    stack.primary.always("503")
    stream = stack.client().chat.completions.create(model="auto", messages=ask(), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from secondary"


def test_slow_first_token_falls_back_before_the_first_byte(stack: Stack) -> None:
    stack.primary.always("hang")
    stream = stack.client().chat.completions.create(model="auto", messages=ask(), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from secondary"


def test_cut_mid_stream_is_an_error_not_a_truncated_success(stack: Stack) -> None:
    stack.primary.script("reset_mid_stream")
    received: list[Any] = []

    def consume() -> None:
        stream = stack.client().chat.completions.create(model="auto", messages=ask(), stream=True)
        received.extend(stream)

    with pytest.raises(openai.APIError):
        consume()
    assert received  # the client did get the first chunks before the error
    assert stack.secondary.calls == 0  # no fallback after the first byte
    raw = httpx.post(
        stack.url + "/v1/chat/completions",
        timeout=30,
        json={"model": "auto", "messages": ask(), "stream": True},
    )
    assert "[DONE]" in raw.text  # the next stream (queue empty → ok) finishes cleanly


def test_cut_stream_never_sends_done(stack: Stack) -> None:
    stack.primary.script("truncated_stream")
    with httpx.stream(
        "POST",
        stack.url + "/v1/chat/completions",
        timeout=30,
        json={"model": "auto", "messages": ask(), "stream": True},
    ) as resp:
        body = resp.read().decode()
    assert '"error"' in body
    assert "[DONE]" not in body


def test_named_model_uses_its_alternates(stack: Stack) -> None:
    stack.primary.always("502")
    completion = stack.client().chat.completions.create(model="alpha", messages=ask())
    assert completion.model == "beta"
    assert stack.third.calls == 0  # gamma is not an alternate of alpha


def test_bad_input_is_a_clear_400(stack: Stack) -> None:
    client = stack.client()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="auto", messages=[])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": " "}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-17", messages=ask())
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="auto", messages=ask(), n=3)
    assert stack.primary.calls == 0


def test_mock_mode_answers_with_no_keys(config: Config) -> None:
    router = Router.from_config(config, HashingEncoder(), build_providers(config, environ={}))
    with serve(create_app(config, router)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="anything", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(model="auto", messages=ask())
        assert raw.headers["x-semroute-provider"] == "mock"
        assert "[mock" in (raw.parse().choices[0].message.content or "")
        stream = client.chat.completions.create(model="auto", messages=ask(), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text.startswith("[mock")


def test_anthropic_content_policy_refusal_is_not_retried_elsewhere(stack: Stack) -> None:
    stack.primary.always("503")
    stack.secondary.script("content_policy")
    with pytest.raises(openai.BadRequestError) as info:
        stack.client().chat.completions.create(model="auto", messages=ask())
    assert info.value.code == "content_policy"
    assert stack.third.calls == 0
