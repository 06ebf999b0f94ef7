"""POST /v1/messages end to end: the official anthropic SDK → semroute → loopback upstreams of
both wire formats (an Anthropic-shaped request answered by an OpenAI upstream and back)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.service.api_stack import ApiStack, api_stack

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir) as s:
        yield s


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_auto_is_answered_by_an_openai_upstream_in_the_anthropic_shape(stack: ApiStack) -> None:
    raw = stack.anthropic().messages.with_raw_response.create(
        model="auto", max_tokens=64, system="Be brief.", messages=user("hi how are you")
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].type == "text" and message.content[0].text == "Hello from primary"
    assert message.model == "alpha" and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens == 3
    assert raw.headers["x-semroute-provider"] == "primary"
    assert (message.model_extra or {})["semroute"]["task"] == "chat"
    sent = stack.primary.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi how are you"},
    ]
    assert sent.body["max_tokens"] == 64


def test_anthropic_upstream_gets_cache_control_on_system_and_text_blocks(stack: ApiStack) -> None:
    mark = {"type": "ephemeral"}
    message = stack.anthropic().messages.create(
        model="beta",
        max_tokens=32,
        system=[{"type": "text", "text": "A long shared preamble.", "cache_control": mark}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Here is the document.", "cache_control": mark},
                    {"type": "text", "text": "hi how are you"},
                ],
            }
        ],
        extra_body={"top_k": 5},
        metadata={"user_id": "u-1"},
        stop_sequences=["END"],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from secondary"
    body = stack.secondary.requests[0].body
    assert body["system"] == [
        {"type": "text", "text": "A long shared preamble.", "cache_control": mark}
    ]
    assert body["messages"][0]["content"][0] == {
        "type": "text",
        "text": "Here is the document.",
        "cache_control": mark,
    }
    assert body["top_k"] == 5 and body["metadata"] == {"user_id": "u-1"}
    assert body["stop_sequences"] == ["END"] and body["model"] == "beta-upstream"


def test_stream_from_an_openai_upstream(stack: ApiStack) -> None:
    with stack.anthropic().messages.stream(
        model="alpha", max_tokens=64, messages=user("hi how are you")
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "Hello from primary" and len(pieces) > 1
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3
    assert stack.primary.requests[0].body["stream"] is True


def test_stream_from_an_anthropic_upstream(stack: ApiStack) -> None:
    with stack.anthropic().messages.stream(
        model="beta", max_tokens=64, messages=user("hi how are you")
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Hello from secondary"


@pytest.mark.parametrize("model", ["alpha", "beta"])
def test_tool_use_and_the_tool_result_turn(stack: ApiStack, model: str) -> None:
    client = stack.anthropic()
    first = client.messages.create(
        model=model, max_tokens=64, tools=[WEATHER], messages=user("please call the tool")
    )
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.name == "get_weather"
    assert set(call.input) == {"city"}
    follow_up: list[Any] = [
        *user("please call the tool"),
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
        },
    ]
    second = client.messages.create(model=model, max_tokens=64, tools=[WEATHER], messages=follow_up)
    assert second.content
    sent = (stack.primary if model == "alpha" else stack.secondary).requests[-1].body
    if model == "alpha":  # OpenAI wire: tool_calls and a tool message
        assert sent["messages"][1]["tool_calls"][0]["id"] == call.id
        assert sent["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": call.id}
        assert sent["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]
    else:  # back to Anthropic: tool_use and tool_result blocks
        assert sent["messages"][1]["content"][0]["type"] == "tool_use"
        result = sent["messages"][2]["content"][0]
        assert result == {"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}


@pytest.mark.parametrize("model", ["alpha", "beta"])
def test_streamed_tool_use(stack: ApiStack, model: str) -> None:
    with stack.anthropic().messages.stream(
        model=model,
        max_tokens=64,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        messages=user("please call the tool"),
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    block = final.content[0]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "primary" if model == "alpha" else "secondary"}
    sent = (stack.primary if model == "alpha" else stack.secondary).requests[-1].body
    if model == "alpha":
        assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert sent["parallel_tool_calls"] is False
    else:
        assert sent["tool_choice"] == {
            "type": "tool",
            "name": "get_weather",
            "disable_parallel_tool_use": True,
        }


def test_fallback_across_wire_formats(stack: ApiStack) -> None:
    stack.primary.always("503")
    message = stack.anthropic().messages.create(
        model="auto", max_tokens=64, messages=user("hi how are you")
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from secondary"
    attempts = (message.model_extra or {})["semroute"]["attempts"]
    assert [a["outcome"] for a in attempts][-1] == "ok"


def test_cache_is_shared_with_chat_completions(stack: ApiStack) -> None:
    question = "hi how are you doing this fine weekend"
    stack.openai().chat.completions.create(model="auto", max_tokens=400, messages=user(question))
    raw = stack.anthropic().messages.with_raw_response.create(
        model="auto", max_tokens=400, messages=user(question)
    )
    assert raw.headers["x-semroute-cache"] == "hit"
    assert raw.parse().content[0].type == "text"
    assert stack.primary.calls == 1


def test_cached_prompt_tokens_are_reported_and_priced(stack: ApiStack) -> None:
    stack.secondary.cached_tokens, stack.secondary.cache_write_tokens = 1000, 200
    message = stack.anthropic().messages.create(
        model="beta", max_tokens=64, messages=user("hi how are you")
    )
    usage = message.usage
    assert usage.cache_read_input_tokens == 1000 and usage.cache_creation_input_tokens == 200
    assert usage.input_tokens == 4  # the uncached rest, as Anthropic counts it
    # beta: input $1/M → cache reads at 0.1×, writes at 1.25× (Anthropic defaults).
    beta = stack.config.models["beta"]
    assert (beta.cache_read_price, beta.cache_written_price) == (0.1, 1.25)


def test_mid_stream_cut_is_an_error_event_not_a_finished_message(stack: ApiStack) -> None:
    stack.primary.script("reset_mid_stream")
    with (
        pytest.raises(anthropic.APIStatusError),
        stack.anthropic().messages.stream(
            model="alpha", max_tokens=64, messages=user("hi how are you")
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass


def result(tool_use_id: str, is_error: Any = None) -> dict[str, Any]:
    """A user turn with the tool_result of ``tool_use_id``."""
    block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": "sunny"}
    if is_error is not None:
        block["is_error"] = is_error
    return {"role": "user", "content": [block]}


def picture(source: dict[str, Any]) -> list[Any]:
    """A user turn asking about an image with this ``source``."""
    image = {"type": "image", "source": source}
    return [{"role": "user", "content": [{"type": "text", "text": "what is this"}, image]}]


# A question and the assistant turn that calls get_weather (id toolu_1).
CALLED: list[Any] = [
    *user("what is the weather in Paris"),
    {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
    },
]


# The same tool_use id twice in one assistant turn; one tool_result block answering it twice.
TWICE: list[Any] = [
    CALLED[0],
    {"role": "assistant", "content": [CALLED[1]["content"][0], CALLED[1]["content"][0]]},
]
ANSWERED_TWICE = {"role": "user", "content": result("toolu_1")["content"] * 2}


def anthropic_error(resp: httpx.Response, status: int, kind: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
        ({"model": "auto", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "auto", "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]}, "role"),
        ({"model": "auto", "max_tokens": 5, "messages": user("hi"), "frequency": 1}, "frequency"),
        ({"model": "auto", "max_tokens": 5, "messages": user("")}, "no text"),
        ({"model": "auto", "max_tokens": 0, "messages": user("hi")}, "max_tokens"),
        ({"model": "auto", "max_tokens": 5, "messages": user("hi"), "temperature": 3}, "temp"),
        (
            {
                "model": "auto",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}],
            },
            "image",
        ),
        (
            {
                "model": "auto",
                "max_tokens": 5,
                "messages": user("hi"),
                "tool_choice": {"type": "tool"},
                "tools": [WEATHER],
            },
            "tool_choice",
        ),
        ({"model": "auto", "max_tokens": 10**9, "messages": user("hi")}, "max_tokens"),
        ("not json", "JSON"),
        *[
            ({"model": "auto", "max_tokens": 5, "messages": user("hi"), "tool_choice": c}, "tools")
            for c in ({"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "get_weather"})
        ],
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED, *user("and tomorrow?")]},
            "messages.1: tool_use ids were found without tool_result blocks",
        ),
        ({"model": "auto", "max_tokens": 5, "messages": CALLED}, "toolu_1"),  # nothing follows
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED, *CALLED]},
            "messages.1: tool_use ids",  # an assistant turn follows, not the tool_result
        ),
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED[:1], result("toolu_9")]},
            "messages.1: unexpected tool_use_id",  # answers no tool_use
        ),
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED, result("toolu_9")]},
            "messages.2: unexpected tool_use_id",
        ),
        (
            {"model": "auto", "max_tokens": 5, "messages": [*TWICE, result("toolu_1")]},
            "messages.1: tool_use ids must be unique; repeated: toolu_1",
        ),
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED, ANSWERED_TWICE]},
            "messages.2: the tool_use_id of tool_result blocks must be unique",
        ),
        (
            {"model": "auto", "max_tokens": 5, "messages": [*CALLED, result("toolu_1", "yes")]},
            "is_error",  # a JSON boolean, as the rest of the request's flags
        ),
        *[
            ({"model": "auto", "max_tokens": 5, "messages": picture(source)}, "image")
            for source in (
                {"type": "base64", "media_type": 5, "data": "iVBORw0KGgo="},
                {"type": "base64", "media_type": "image/png", "data": ["iVBORw0KGgo="]},
                {"type": "url", "url": ""},
            )
        ],
    ],
)
def test_bad_input_is_an_anthropic_400(stack: ApiStack, body: Any, needle: str) -> None:
    kw: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    resp = httpx.post(stack.url + "/v1/messages", **kw)
    assert needle in anthropic_error(resp, 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "auto", "max_tokens": 5, "messages": user("bad \ud800 text")}, "Unicode"),
        ({"model": "auto", "max_tokens": 5, "messages": user("hi"), "system": "\udfff"}, "Unicode"),
        ({"model": "auto", "max_tokens": 5, "messages": user("hi"), "stream": "yes"}, "stream"),
    ],
)
def test_invalid_unicode_and_non_boolean_stream_are_an_anthropic_400(
    stack: ApiStack, body: Any, needle: str
) -> None:
    raw = json.dumps(body).encode()  # \u escapes: a lone surrogate is valid JSON text
    headers = {"content-type": "application/json"}
    resp = httpx.post(stack.url + "/v1/messages", content=raw, headers=headers)
    assert needle in anthropic_error(resp, 400, "invalid_request_error")


def test_tool_use_without_its_tool_result_through_the_anthropic_client(stack: ApiStack) -> None:
    client = stack.anthropic()
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model="auto", max_tokens=5, tools=[WEATHER], messages=[*CALLED, *user("and now?")]
        )
    assert refused.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "toolu_1" in refused.value.message
    with pytest.raises(anthropic.BadRequestError) as no_tools:
        client.messages.create(
            model="auto", max_tokens=5, tool_choice={"type": "any"}, messages=user("hi")
        )
    assert "tool_choice" in no_tools.value.message
    answered = client.messages.create(
        model="auto", max_tokens=5, tools=[WEATHER], messages=[*CALLED, result("toolu_1")]
    )
    assert answered.content  # the same turn with its tool_result passes


@pytest.mark.parametrize(
    ("choice", "needle"),
    [
        ({"type": "tool", "name": "get_time"}, "'get_time' is not the name of any tool"),
        ({"type": "tool", "name": "get_weather "}, "'get_weather '"),
        ({"type": "tool"}, "tool_choice"),
        ({"type": "tool", "name": ""}, "tool_choice"),
        ({"type": "tool", "name": 5}, "tool_choice.name"),
        ({"type": "tool", "name": ["get_weather"]}, "tool_choice.name"),
        ({"type": "auto", "name": "get_weather"}, "tool_choice"),  # only "tool" takes a name
        ({"type": "function", "function": {"name": "get_weather"}}, "tool_choice"),  # OpenAI's
        ({"type": "required"}, "tool_choice.type"),
        ({"type": 5}, "tool_choice.type"),
        ({"name": "get_weather"}, "tool_choice.type"),
        ({}, "tool_choice.type"),
        ("any", "tool_choice"),
        (["auto"], "tool_choice"),
        (True, "tool_choice"),
        ({"type": "any", "disable_parallel_tool_use": "yes"}, "disable_parallel_tool_use"),
        ({"type": "none", "disable_parallel_tool_use": True}, "tool_choice"),
    ],
)
def test_a_tool_choice_not_naming_one_of_the_tools_is_an_anthropic_400(
    stack: ApiStack, choice: Any, needle: str
) -> None:
    body = {
        "model": "auto",
        "max_tokens": 5,
        "messages": user("hi"),
        "tools": [WEATHER],
        "tool_choice": choice,
    }
    resp = httpx.post(stack.url + "/v1/messages", json=body)
    assert needle in anthropic_error(resp, 400, "invalid_request_error")
    assert stack.primary.calls == stack.secondary.calls == 0  # never sent upstream


def test_a_tool_choice_naming_an_unknown_tool_through_the_anthropic_client(
    stack: ApiStack,
) -> None:
    client = stack.anthropic()
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model="auto",
            max_tokens=5,
            tools=[WEATHER],
            tool_choice={"type": "tool", "name": "get_time"},
            messages=user("please call the tool"),
        )
    assert refused.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "tool_choice" in refused.value.message and "get_time" in refused.value.message
    named = client.messages.create(
        model="auto",
        max_tokens=64,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=user("please call the tool"),
    )
    assert named.stop_reason == "tool_use"  # the tool it names passes


def test_sdk_errors_have_anthropic_types(stack: ApiStack) -> None:
    client = stack.anthropic()
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=5, messages=user("hi"))
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    for up in (stack.primary, stack.secondary, stack.third):
        up.always("503")
    with pytest.raises(anthropic.InternalServerError) as failed:
        client.messages.create(model="auto", max_tokens=5, messages=user("hi how are you"))
    assert failed.value.status_code == 503
    assert failed.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_body_too_large_is_anthropic_shaped(stack: ApiStack) -> None:
    big = "x" * (stack.config.service.max_body_bytes + 10)
    resp = httpx.post(stack.url + "/v1/messages", content=big)
    anthropic_error(resp, 413, "request_too_large")


def with_key(raw: dict[str, Any]) -> None:
    digest = hashlib.sha256(b"sk-client").hexdigest()
    raw["auth"] = {"enabled": True, "keys": [{"name": "app", "sha256": digest}]}


def test_x_api_key_authenticates(centroid_dir: Path) -> None:
    with api_stack(centroid_dir, with_key) as stack:
        message = stack.anthropic("sk-client").messages.create(
            model="auto", max_tokens=5, messages=user("hi how are you")
        )
        assert message.content
        with pytest.raises(anthropic.AuthenticationError) as denied:
            stack.anthropic("sk-wrong").messages.create(
                model="auto", max_tokens=5, messages=user("hi")
            )
        assert denied.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_count_tokens_is_an_estimate_from_the_same_conversion(stack: ApiStack) -> None:
    counted = stack.anthropic().messages.count_tokens(
        model="auto", system="Be brief.", messages=user("hi how are you")
    )
    # ceil(9 / 4) + 4 for the system message, ceil(14 / 4) + 4 for the user message
    assert counted.input_tokens == 7 + 8
    assert stack.primary.calls == 0
