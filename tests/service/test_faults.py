"""Fault injection end to end: the official openai SDK → semroute → real loopback upstreams
(tests/upstreams.py) that go silent, fail half their calls, cut streams, stall before the first
content or end without ``message_stop``. Deadlines are scaled down (``deadline_s`` 3 s) so the
suite stays short; ``bench/chaos.py`` runs the long version on the defaults' proportions.

The contract checked everywhere: no request is lost while a healthy provider exists, and no
truncated answer is ever reported as a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from router.budget.redis_ledger import RedisLedger
from router.budget.spending import FailoverLedger, Spending
from router.config.settings import Config
from router.core import Router
from router.execution.deployments import build_providers
from service.app import create_app
from tests.chaos import FLAKY, load
from tests.fakes import HashingEncoder
from tests.redis_server import free_port
from tests.service.test_chat_e2e import KEYS, stack_config
from tests.serving import serve
from tests.upstreams import Upstream

REPLIES = {f"Hello from {name}" for name in ("primary", "secondary", "third")}


@dataclass
class Stack:
    """primary (OpenAI wire) → secondary (Anthropic wire) → third (OpenAI wire), in that order."""

    primary: Upstream
    secondary: Upstream
    third: Upstream
    url: str
    router: Router

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key="k", max_retries=0, timeout=30)

    def breaker(self, model: str, provider: str) -> str:
        states = asyncio.run(self.router.breakers.states())
        return str(states.get(f"{model}@{provider}/{model}-upstream", "closed"))


def fault_config(centroid_dir: Path, urls: dict[str, str], **execution: Any) -> Config:
    raw = stack_config(centroid_dir, urls).model_dump()
    for provider in raw["providers"].values():
        provider["read_timeout_s"] = 120  # the default: the chain's deadline must bound it
    raw["execution"]["deadline_s"] = 3.0
    raw["execution"]["first_token_timeout_s"] = 1.0
    raw["execution"]["retry"] = {}  # the default retry policy
    raw["execution"]["breaker"] = {"failures": 3, "window_s": 60, "cooldown_s": 1.0}
    raw["execution"].update(execution)
    raw["cache"]["enabled"] = False
    return Config.model_validate(raw)


def three_upstreams(centroid_dir: Path, **execution: Any) -> Iterator[Stack]:
    with Upstream("primary") as a, Upstream("secondary") as b, Upstream("third") as c:
        urls = {"primary": a.base_url, "secondary": b.base_url, "third": c.base_url}
        config = fault_config(centroid_dir, urls, **execution)
        router = Router.from_config(config, HashingEncoder(), build_providers(config, KEYS))
        with serve(create_app(config, router)) as url:
            yield Stack(a, b, c, url, router)


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[Stack]:
    yield from three_upstreams(centroid_dir)


@pytest.fixture
def loaded_stack(centroid_dir: Path) -> Iterator[Stack]:
    """32 clients on one process: a 3 s chain shares 1 s a candidate, which a busy 2-core CI
    machine cannot always give the healthy one under load (the defaults give 60 s)."""
    yield from three_upstreams(centroid_dir, deadline_s=9.0)


def ask(text: str = "hi how are you") -> list[Any]:
    return [{"role": "user", "content": text}]


def streamed(client: openai.OpenAI, **kw: Any) -> tuple[str, str | None]:
    """(text, finish_reason) of a streamed answer; raises openai.APIError if it failed."""
    text, finish = "", None
    for chunk in client.chat.completions.create(model="auto", messages=ask(), stream=True, **kw):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    return text, finish


# -- one fault at a time -----------------------------------------------------------------------


def test_a_silent_provider_costs_its_share_then_the_next_answers(stack: Stack) -> None:
    stack.primary.always("hang")
    completion = stack.client().chat.completions.create(model="auto", messages=ask())
    assert completion.choices[0].message.content == "Hello from secondary"
    attempts = (completion.model_extra or {})["semroute"]["attempts"]
    assert [(a["provider"], a["outcome"]) for a in attempts] == [
        ("primary", "timeout"),  # once: a timed-out attempt is not retried
        ("secondary", "ok"),
    ]
    assert attempts[0]["latency_ms"] < 1500  # its share of 3 s, not the whole deadline


def test_an_error_after_a_role_only_chunk_falls_over(stack: Stack) -> None:
    stack.primary.always("error_before_content")
    stack.secondary.always("error_before_content")  # Anthropic: after message_start
    assert streamed(stack.client()) == ("Hello from third", "stop")


def test_slow_first_content_after_the_role_chunk_falls_over(stack: Stack) -> None:
    stack.primary.always("slow_content:5")
    assert streamed(stack.client()) == ("Hello from secondary", "stop")
    assert stack.primary.calls == 1


def test_an_anthropic_stream_with_a_stop_reason_but_no_message_stop_succeeds(
    stack: Stack,
) -> None:
    stack.primary.always("503")
    stack.secondary.always("no_message_stop")
    assert streamed(stack.client()) == ("Hello from secondary", "stop")


def test_cut_streams_are_errors_and_count_against_the_breaker(stack: Stack) -> None:
    stack.primary.always("reset_mid_stream")
    client = stack.client()
    for _ in range(3):
        with pytest.raises(openai.APIError):
            streamed(client)  # content was sent: no fallback, an in-band error, no [DONE]
    assert stack.breaker("alpha", "primary") == "open"
    assert streamed(client) == ("Hello from secondary", "stop")
    assert stack.primary.calls == 3


def test_a_malformed_tool_call_is_a_400_and_wedges_nothing(stack: Stack) -> None:
    stack.primary.always("503")
    messages = [
        {"role": "user", "content": "what is the weather"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": 1, "function": "x"}]},
        {"role": "user", "content": "and tomorrow?"},
    ]
    raw = httpx.post(
        stack.url + "/v1/chat/completions", json={"model": "auto", "messages": messages}
    )
    assert raw.status_code == 400, raw.text
    assert stack.secondary.calls == 0
    for _ in range(3):
        done = stack.client().chat.completions.create(model="auto", messages=ask())
        assert done.choices[0].message.content == "Hello from secondary"


def test_budget_ledger_down_and_fail_closed_is_a_503_without_its_address(
    centroid_dir: Path,
) -> None:
    with Upstream("primary") as a:
        urls = {"primary": a.base_url, "secondary": a.base_url, "third": a.base_url}
        raw = fault_config(centroid_dir, urls).model_dump()
        raw["budget"]["daily_usd"] = 5.0
        config = Config.model_validate(raw)
        port = free_port()  # nothing listens there
        ledger = RedisLedger(f"redis://127.0.0.1:{port}/0", socket_timeout_s=0.2)
        spending = Spending(config.budget, FailoverLedger(ledger, fail_open=False))
        router = Router.from_config(
            config, HashingEncoder(), build_providers(config, KEYS), spending=spending
        )
        with serve(create_app(config, router)) as url:
            resp = httpx.post(url + "/v1/chat/completions", json={"messages": ask()})
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "budget_unavailable"
    assert "127.0.0.1" not in resp.text and str(port) not in resp.text
    assert a.calls == 0


# -- under load ----------------------------------------------------------------------------------


def test_concurrency_32_with_a_silent_and_a_flaky_provider_loses_nothing(
    loaded_stack: Stack,
) -> None:
    stack = loaded_stack
    stack.primary.always("hang")  # first in every ranking, and silent
    stack.secondary.script(*FLAKY * 40)
    tally = asyncio.run(load(stack.url, 320, 32, REPLIES))
    assert tally.lost == []
    assert tally.truncated == []
    assert tally.ok == 320
    assert tally.served_by.get("secondary", 0) > 0 and tally.served_by.get("third", 0) > 0
    assert stack.primary.calls < 320 // 4  # its breaker kept most requests away from it


def test_streams_cut_under_load_are_never_reported_as_successes(loaded_stack: Stack) -> None:
    stack = loaded_stack
    stack.primary.script(*["reset_mid_stream", "ok", "truncated_stream", "error_in_stream"] * 30)
    stack.secondary.always("hang")
    tally = asyncio.run(load(stack.url, 160, 32, REPLIES))
    assert tally.truncated == []
    assert tally.lost == []
    assert tally.ok + tally.cut == 160
    assert tally.cut > 0
