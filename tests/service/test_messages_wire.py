"""The Messages API ↔ internal request/answer conversion, block by block (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from router.errors import BadResponse, InvalidRequest
from router.types import Completion, Usage
from service.messages_schemas import MessagesBody
from service.messages_wire import message_body, to_request, usage_json

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def body(messages: list[Any], **fields: Any) -> MessagesBody:
    return MessagesBody.model_validate(
        {"model": "auto", "max_tokens": 8, "messages": messages, **fields}
    )


def test_blocks_become_openai_shaped_messages() -> None:
    request = to_request(
        body(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is in it?"},
                        {"type": "image", "source": PNG},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": "sig"},
                        {"type": "tool_use", "id": "t1", "name": "look", "input": {"x": 1}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "is_error": True,
                            "content": [{"type": "text", "text": "no such file"}],
                        },
                        {"type": "text", "text": "try again"},
                    ],
                },
            ]
        )
    )
    first, assistant, tool, again = request.messages
    assert first.content == (
        {"type": "text", "text": "what is in it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    )
    assert assistant.content == ({"type": "thinking", "thinking": "hm", "signature": "sig"},)
    assert assistant.tool_calls == (
        {"id": "t1", "type": "function", "function": {"name": "look", "arguments": '{"x": 1}'}},
    )
    assert (tool.role, tool.tool_call_id, tool.content) == ("tool", "t1", "Error: no such file")
    assert (again.role, again.content) == ("user", "try again")


def test_request_fields_map_to_the_internal_request() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    request = to_request(
        body(
            [{"role": "user", "content": "hi"}],
            system=[{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}],
            output_config={"effort": "high", "format": {"type": "json_schema", "schema": schema}},
            thinking={"type": "adaptive"},
            service_tier="standard_only",
            cache_control={"type": "ephemeral"},
            stop_sequences=["X"],
        )
    )
    assert request.messages[0].content == (
        {"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}},
    )
    assert request.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    assert request.requirements(10).structured
    assert request.extra == {
        "cache_control": {"type": "ephemeral"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "service_tier": "default",
    }
    assert request.stop == ("X",) and request.max_tokens == 8


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": [{"type": "tool_result"}]}],
        [{"role": "assistant", "content": [{"type": "tool_use", "input": {}}]}],
        [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}],
        [{"role": "user", "content": [{"type": "text", "text": "   "}]}],
    ],
)
def test_incomplete_blocks_are_invalid_requests(messages: list[Any]) -> None:
    with pytest.raises(InvalidRequest):
        to_request(body(messages))


def test_the_answer_in_the_messages_shape() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 2}'}}
    completion = Completion(
        id="x",
        upstream_model="m",
        message={"role": "assistant", "content": "let me look", "tool_calls": [call]},
        finish_reason="tool_calls",
        usage=Usage(120, 5, cached_tokens=100),
    )
    out = message_body(completion, "alpha", {})
    assert out["content"] == [
        {"type": "text", "text": "let me look"},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 2}},
    ]
    assert out["stop_reason"] == "tool_use"
    assert out["usage"] == {
        "input_tokens": 20,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 100,
    }
    assert usage_json(Usage(10, 1, cached_tokens=50))["input_tokens"] == 0  # never negative


def test_tool_arguments_that_are_not_json_are_a_bad_response() -> None:
    call = {"id": "c1", "function": {"name": "f", "arguments": "{not json"}}
    completion = Completion(
        "x", "m", {"role": "assistant", "tool_calls": [call]}, "tool_calls", Usage()
    )
    with pytest.raises(BadResponse):
        message_body(completion, "alpha", {})
