"""Passed-through request fields, prompt-cache marks and cache usage on both wire protocols
(pure translation: the request bodies each adapter would send, the usage it reads)."""

from __future__ import annotations

from typing import Any

import pytest

from router.providers import anthropic_wire, openai
from router.providers.anthropic_extra import UntranslatableRequest
from router.providers.anthropic_stream import StreamState
from router.providers.base import UpstreamCall, parse_usage
from router.providers.fields import unsupported
from router.types import ChatRequest, Message

MARK = {"type": "ephemeral"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def call(*messages: Message, **options: Any) -> UpstreamCall:
    request = ChatRequest(messages=messages or (Message("user", "hi"),), **options)
    return UpstreamCall(request=request, model="m", upstream_model="up", timeout_s=5)


def anthropic_body(c: UpstreamCall) -> dict[str, Any]:
    return anthropic_wire.request_body(c, default_max_tokens=1000, stream=False)


@pytest.mark.parametrize(
    ("kind", "extra", "refused"),
    [
        ("anthropic", {"seed": 1, "logit_bias": {"1": 1}}, ["logit_bias", "seed"]),
        ("anthropic", {"logprobs": False, "presence_penalty": 0, "n": 1, "seed": None}, []),
        ("anthropic", {"parallel_tool_calls": False, "top_k": 4, "reasoning_effort": "low"}, []),
        ("anthropic", {"service_tier": "flex"}, ["service_tier"]),
        ("anthropic", {"service_tier": "auto", "thinking": {"type": "enabled"}}, []),
        ("openai", {"seed": 1, "top_k": 4, "repetition_penalty": 1.1}, []),
        (
            "openai",
            {"thinking": {"type": "enabled"}, "output_config": {}},
            ["output_config", "thinking"],
        ),
        ("mock", {"seed": 1, "thinking": {}}, []),
    ],
)
def test_which_fields_each_protocol_honours(
    kind: str, extra: dict[str, Any], refused: list[str]
) -> None:
    assert unsupported(kind, extra) == refused


def test_openai_body_carries_extras_and_drops_anthropic_hints() -> None:
    system = Message("system", ({"type": "text", "text": "rules", "cache_control": MARK},))
    thought = {"type": "thinking", "thinking": "hm", "signature": "s"}
    earlier = Message("assistant", ({"type": "text", "text": "ok"}, thought))
    body = openai.request_body(
        call(
            system,
            earlier,
            Message("user", "hi"),
            tools=({**TOOL, "cache_control": MARK},),
            max_tokens=9,
            max_tokens_field="max_completion_tokens",
            extra={"seed": 3, "cache_control": MARK, "thinking": {"type": "enabled"}},
        ),
        stream=False,
    )
    assert body["seed"] == 3 and "thinking" not in body and "cache_control" not in body
    assert body["max_completion_tokens"] == 9 and "max_tokens" not in body
    assert body["messages"][0]["content"] == [{"type": "text", "text": "rules"}]
    assert body["messages"][1]["content"] == [{"type": "text", "text": "ok"}]
    assert body["tools"] == [TOOL]


def test_extras_never_override_what_semroute_sets() -> None:
    body = openai.request_body(call(extra={"model": "other", "stream": False}), stream=True)
    assert body["model"] == "up" and body["stream"] is True


def test_anthropic_body_keeps_cache_control_on_system_parts_and_tools() -> None:
    system = Message("system", ({"type": "text", "text": "rules", "cache_control": MARK},))
    user = Message("user", ({"type": "text", "text": "doc", "cache_control": MARK},))
    body = anthropic_body(call(system, user, tools=({**TOOL, "cache_control": MARK},)))
    assert body["system"] == [{"type": "text", "text": "rules", "cache_control": MARK}]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "doc", "cache_control": MARK}
    ]
    assert body["tools"][0]["cache_control"] == MARK
    plain = anthropic_body(call(Message("system", "a"), Message("system", "b"), user))
    assert plain["system"] == "a\n\nb"  # no mark: the string form, as before


def test_anthropic_body_maps_openai_fields() -> None:
    body = anthropic_body(
        call(
            tools=(TOOL,),
            tool_choice="required",
            max_tokens=50,
            extra={
                "parallel_tool_calls": False,
                "reasoning_effort": "high",
                "service_tier": "auto",
                "top_k": 7,
                "cache_control": MARK,
            },
        )
    )
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert body["max_tokens"] == 50 + 16384
    assert (body["service_tier"], body["top_k"], body["cache_control"]) == ("auto", 7, MARK)


def test_reasoning_effort_with_temperature_has_no_anthropic_equivalent() -> None:
    with pytest.raises(UntranslatableRequest, match="reasoning_effort"):
        anthropic_body(call(temperature=0.3, extra={"reasoning_effort": "low"}))
    minimal = anthropic_body(call(temperature=0.3, extra={"reasoning_effort": "minimal"}))
    assert "thinking" not in minimal


def test_strict_json_schema_is_native_structured_output_on_anthropic() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    strict = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    body = anthropic_body(call(response_format=strict, extra={"output_config": {"effort": "low"}}))
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": schema},
        "effort": "low",
    }
    assert "system" not in body  # enforced by the API, not asked for in the prompt
    loose = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert "JSON Schema" in anthropic_body(call(response_format=loose))["system"]


def test_openai_usage_details_and_cached_tokens() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1500, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 4},
        }
    )
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (2000, 1500, 0)
    assert usage.details["completion_tokens_details"] == {"reasoning_tokens": 4}


def test_anthropic_stream_usage_keeps_cache_counts() -> None:
    state = StreamState()
    start_usage = {
        "input_tokens": 5,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "output_tokens": 1,
    }
    state.feed({"type": "message_start", "message": {"id": "m", "usage": start_usage}})
    state.feed(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        }
    )
    usage = state.feed({"type": "message_stop"})[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (125, 9)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (100, 20)
