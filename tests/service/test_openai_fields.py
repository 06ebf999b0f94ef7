"""OpenAI request fields semroute does not interpret: passed through, mapped to Anthropic, or a
400 naming them — never dropped silently. The official openai SDK is the client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.service.api_stack import ApiStack, api_stack

TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "strict": True,
        "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
    },
}


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir) as s:
        yield s


def ask(text: str = "hi how are you") -> list[Any]:
    return [{"role": "user", "content": text}]


def test_every_field_reaches_an_openai_upstream_as_sent(stack: ApiStack) -> None:
    stack.openai().chat.completions.create(
        model="alpha",
        messages=ask(),
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logit_bias={"50256": -100},
        logprobs=True,
        top_logprobs=2,
        tools=[TOOL],  # type: ignore[list-item]
        parallel_tool_calls=False,
        reasoning_effort="low",
        metadata={"team": "search"},
        service_tier="flex",
        store=False,
        user="u-9",
        max_completion_tokens=77,
        extra_body={"top_k": 20, "repetition_penalty": 1.1},
    )
    body = stack.primary.requests[0].body
    expected = {
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "top_logprobs": 2,
        "parallel_tool_calls": False,
        "reasoning_effort": "low",
        "metadata": {"team": "search"},
        "service_tier": "flex",
        "store": False,
        "user": "u-9",
        "max_completion_tokens": 77,
        "top_k": 20,
        "repetition_penalty": 1.1,
    }
    assert {k: body.get(k) for k in expected} == expected
    assert "max_tokens" not in body  # reasoning models reject it next to max_completion_tokens


def test_max_tokens_is_sent_under_its_own_name(stack: ApiStack) -> None:
    stack.openai().chat.completions.create(model="alpha", messages=ask(), max_tokens=33)
    body = stack.primary.requests[0].body
    assert body["max_tokens"] == 33 and "max_completion_tokens" not in body


def test_logprobs_and_usage_details_come_back(stack: ApiStack) -> None:
    stack.primary.cached_tokens = 1024
    completion = stack.openai().chat.completions.create(
        model="alpha", messages=ask(), logprobs=True, top_logprobs=1
    )
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    assert choice.logprobs.content[0].logprob == -0.5
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 1024
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_streamed_usage_keeps_its_details(stack: ApiStack) -> None:
    stack.primary.cached_tokens = 512
    chunks = list(
        stack.openai().chat.completions.create(
            model="alpha", messages=ask(), stream=True, stream_options={"include_usage": True}
        )
    )
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 512


def test_anthropic_gets_the_fields_it_has_an_equivalent_for(stack: ApiStack) -> None:
    stack.openai().chat.completions.create(
        model="beta",
        messages=ask(),
        tools=[TOOL],  # type: ignore[list-item]
        parallel_tool_calls=False,
        reasoning_effort="medium",
        service_tier="default",
        max_tokens=100,
        logprobs=False,  # OpenAI's default: asks for nothing
        extra_body={"top_k": 3},
    )
    body = stack.secondary.requests[0].body
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] == 100 + 4096  # Anthropic counts the thinking in max_tokens
    assert body["service_tier"] == "standard_only" and body["top_k"] == 3
    assert "logprobs" not in body


def test_a_field_the_named_model_cannot_honour_is_a_400_naming_it(stack: ApiStack) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        stack.openai().chat.completions.create(model="beta", messages=ask(), seed=1)
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "seed" and error["code"] == "unsupported_field"
    assert "seed" in error["message"] and "unsupported_fields" in error["message"]
    assert stack.secondary.calls == 0


def test_auto_skips_candidates_that_cannot_honour_a_field(stack: ApiStack) -> None:
    stack.primary.always("503")
    stack.third.always("503")
    with pytest.raises(openai.APIStatusError) as failed:
        stack.openai().chat.completions.create(model="auto", messages=ask(), logit_bias={"1": 5})
    assert failed.value.status_code == 503
    assert stack.secondary.calls == 0  # never tried: the Anthropic model would lose logit_bias
    route = stack.openai().post(
        "/route",
        cast_to=dict,
        body={"messages": ask(), "logit_bias": {"1": 5}},
    )
    skipped = {s["model"]: s["reason"] for s in route["skipped"]}
    assert skipped == {"beta": "cannot honour logit_bias"}


def test_drop_mode_drops_with_a_warning(centroid_dir: Path, caplog: Any) -> None:
    def drop(raw: dict[str, Any]) -> None:
        raw["api"]["unsupported_fields"] = "drop"

    with api_stack(centroid_dir, drop) as stack, caplog.at_level(logging.WARNING):
        completion = stack.openai().chat.completions.create(
            model="beta", messages=ask(), seed=1, frequency_penalty=0.2
        )
        assert completion.choices[0].message.content == "Hello from secondary"
        body = stack.secondary.requests[0].body
        assert "seed" not in body and "frequency_penalty" not in body
    assert any("frequency_penalty" in r.message and "seed" in r.message for r in caplog.records)


def test_malformed_passthrough_values_are_400s_before_any_call(stack: ApiStack) -> None:
    client = stack.openai()
    for bad in ({"seed": "x"}, {"presence_penalty": 5}, {"top_logprobs": 99}):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model="alpha", messages=ask(), extra_body=bad)
        assert isinstance(refused.value.body, dict)
        assert refused.value.body["param"] == next(iter(bad))
    assert stack.primary.calls == 0


def test_strict_json_schema_needs_structured_outputs(stack: ApiStack) -> None:
    client = stack.openai()
    strict = client.post(
        "/route", cast_to=dict, body={"messages": ask(), "response_format": SCHEMA}
    )
    assert [c["model"] for c in strict["candidates"]] == ["alpha"]
    assert {s["model"]: s["reason"] for s in strict["skipped"]} == {
        "beta": "lacks structured_outputs",
        "gamma": "lacks structured_outputs",
    }
    loose = {"type": "json_schema", "json_schema": {**SCHEMA["json_schema"], "strict": False}}
    plain = client.post("/route", cast_to=dict, body={"messages": ask(), "response_format": loose})
    assert [c["model"] for c in plain["candidates"]] == ["alpha", "beta", "gamma"]
    completion = client.chat.completions.create(
        model="auto",
        messages=ask(),
        response_format=SCHEMA,  # type: ignore[arg-type]
    )
    assert completion.model == "alpha"
    assert stack.primary.requests[0].body["response_format"] == SCHEMA


def test_fields_are_blamed_only_when_they_are_what_stands_in_the_way(stack: ApiStack) -> None:
    client = stack.openai()
    with pytest.raises(openai.BadRequestError) as only_fields:
        # Only alpha can enforce the schema, only Anthropic's beta takes `thinking`.
        client.post(
            "/route",
            cast_to=dict,
            body={"messages": ask(), "response_format": SCHEMA, "thinking": {"type": "enabled"}},
        )
    assert isinstance(only_fields.value.body, dict)
    assert only_fields.value.body["code"] == "unsupported_field"
    with pytest.raises(openai.BadRequestError) as too_long:
        # No window holds the prompt: the seed that beta cannot honour is not the reason.
        client.post("/route", cast_to=dict, body={"input": "word " * 82_000, "seed": 1})
    assert isinstance(too_long.value.body, dict)
    assert too_long.value.body["code"] != "unsupported_field"
    assert "context" in too_long.value.body["message"]
