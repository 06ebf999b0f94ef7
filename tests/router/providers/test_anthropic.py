"""AnthropicProvider against a faked wire (httpx.MockTransport): translation, streaming, errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import pytest

from router import errors as e
from router.providers.anthropic import AnthropicProvider
from router.providers.base import UpstreamCall
from router.providers.credentials import Credentials
from router.types import JSON, ChatRequest, Chunk, Message, Usage

KEY = "sk-ant-test-key"
MODEL = "claude-sonnet-4-5"
Handler = Callable[[httpx.Request], httpx.Response]


class Wire:
    """The fake upstream: records every request and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def body(self) -> JSON:
        data: JSON = json.loads(self.requests[-1].content)
        return data


Make = Callable[..., tuple[AnthropicProvider, Wire]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[AnthropicProvider] = []

    def build(handler: Handler, **options: Any) -> tuple[AnthropicProvider, Wire]:
        wire = Wire(handler)
        credentials = Credentials(
            "anthropic",
            env="ANTHROPIC_API_KEY",
            file=None,
            style="x-api-key",
            environ={"ANTHROPIC_API_KEY": KEY},
        )
        provider = AnthropicProvider(
            "anthropic",
            "https://api.anthropic.com/",
            credentials,
            transport=httpx.MockTransport(wire),
            **options,
        )
        made.append(provider)
        return provider, wire

    yield build
    for provider in made:
        await provider.aclose()


def call_for(*messages: Message, **options: Any) -> UpstreamCall:
    request = ChatRequest(messages=messages or (Message("user", "hi"),), **options)
    return UpstreamCall(request=request, model="claude-sonnet", upstream_model=MODEL, timeout_s=30)


def message_body(content: list[JSON], stop_reason: str | None = "end_turn") -> JSON:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
    }


def answer(body: JSON | None = None) -> Handler:
    payload = body or message_body([{"type": "text", "text": "ok"}])
    return lambda request: httpx.Response(200, json=payload)


def sse(*events: Mapping[str, Any]) -> bytes:
    return "".join(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n" for ev in events).encode()


def streamed(raw: bytes) -> Handler:
    headers = {"content-type": "text/event-stream"}
    return lambda request: httpx.Response(200, content=raw, headers=headers)


async def collect(provider: AnthropicProvider, call: UpstreamCall, into: list[Chunk]) -> None:
    async for chunk in provider.stream(call):
        into.append(chunk)


START = {
    "type": "message_start",
    "message": {
        "id": "msg_s1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    },
}
TEXT_EVENTS: list[JSON] = [
    START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_stop"},
]


# --- request translation -------------------------------------------------------------------


async def test_posts_to_messages_with_key_and_version(make: Make) -> None:
    provider, wire = make(answer(), anthropic_version="2024-01-01")
    await provider.complete(call_for())
    request = wire.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2024-01-01"
    assert "authorization" not in request.headers
    assert wire.body["model"] == MODEL
    assert "stream" not in wire.body


async def test_system_messages_become_the_system_prompt(make: Make) -> None:
    provider, wire = make(answer())
    await provider.complete(
        call_for(
            Message("system", "You are terse."),
            Message("user", "Hi"),
            Message("developer", ({"type": "text", "text": "Prefer metric units."},)),
        )
    )
    assert wire.body["system"] == "You are terse.\n\nPrefer metric units."
    assert wire.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


async def test_conversation_with_tool_calls_and_results(make: Make) -> None:
    def tool_call(call_id: str, arguments: str) -> JSON:
        fn = {"name": "weather", "arguments": arguments}
        return {"id": call_id, "type": "function", "function": fn}

    calls = (tool_call("toolu_1", '{"city": "Paris"}'), tool_call("toolu_2", '{"city": "Rome"}'))
    provider, wire = make(answer())
    await provider.complete(
        call_for(
            Message("user", "Weather in Paris?"),
            Message("user", ({"type": "text", "text": "And Rome?"},)),
            Message("assistant", "Checking.", tool_calls=calls),
            Message("tool", "18C", tool_call_id="toolu_1"),
            Message("tool", "24C", tool_call_id="toolu_2"),
            Message("user", "Which is warmer?"),
        )
    )
    assert "system" not in wire.body
    assert wire.body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather in Paris?"},
                {"type": "text", "text": "And Rome?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "24C"},
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]


async def test_assistant_tool_call_without_text(make: Make) -> None:
    call = {"id": "toolu_1", "type": "function", "function": {"name": "now", "arguments": ""}}
    provider, wire = make(answer())
    await provider.complete(
        call_for(Message("user", "time?"), Message("assistant", None, tool_calls=(call,)))
    )
    assert wire.body["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}],
    }


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]"])
async def test_untranslatable_tool_arguments_are_a_bad_request(make: Make, arguments: str) -> None:
    call = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    provider, wire = make(answer())
    with pytest.raises(e.BadRequest, match="toolu_1") as info:
        await provider.complete(
            call_for(Message("user", "x"), Message("assistant", None, tool_calls=(call,)))
        )
    assert info.value.provider == "anthropic" and info.value.model == "claude-sonnet"
    assert wire.requests == []


async def test_images_as_data_urls_and_http_urls(make: Make) -> None:
    parts = (
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    )
    provider, wire = make(answer())
    await provider.complete(call_for(Message("user", parts)))
    assert wire.body["messages"][0]["content"] == [
        {"type": "text", "text": "Compare these."},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


async def test_image_that_is_neither_base64_nor_http_is_a_bad_request(make: Make) -> None:
    part = {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}
    provider, _ = make(answer())
    with pytest.raises(e.BadRequest):
        await provider.complete(call_for(Message("user", (part,))))


async def test_tools_are_translated(make: Make) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    weather = {"name": "weather", "description": "Now.", "parameters": schema}
    tools = (
        {"type": "function", "function": weather},
        {"type": "function", "function": {"name": "ping"}},
    )
    provider, wire = make(answer())
    await provider.complete(call_for(tools=tools, tool_choice="auto"))
    assert wire.body["tools"] == [
        {"name": "weather", "description": "Now.", "input_schema": schema},
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert wire.body["tool_choice"] == {"type": "auto"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
async def test_tool_choice(make: Make, choice: str | JSON, expected: JSON) -> None:
    tools = ({"type": "function", "function": {"name": "weather"}},)
    provider, wire = make(answer())
    await provider.complete(call_for(tools=tools, tool_choice=choice))
    assert wire.body["tool_choice"] == expected


async def test_tool_choice_without_tools_is_not_sent(make: Make) -> None:
    provider, wire = make(answer())
    await provider.complete(call_for(tool_choice="none"))
    assert "tool_choice" not in wire.body and "tools" not in wire.body


async def test_json_object_mode_is_a_system_instruction(make: Make) -> None:
    provider, wire = make(answer())
    await provider.complete(
        call_for(Message("system", "Be precise."), response_format={"type": "json_object"})
    )
    system = wire.body["system"]
    assert system.startswith("Be precise.\n\n")
    assert "one JSON object" in system


async def test_json_schema_mode_names_the_schema(make: Make) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    provider, wire = make(answer())
    await provider.complete(call_for(response_format=fmt))
    assert "one JSON object" in wire.body["system"]
    assert json.dumps(schema) in wire.body["system"]


async def test_default_max_tokens_and_sampling(make: Make) -> None:
    provider, wire = make(answer(), default_max_tokens=1234)
    await provider.complete(call_for())
    assert wire.body["max_tokens"] == 1234
    assert not {"temperature", "top_p", "stop_sequences", "metadata"} & wire.body.keys()

    await provider.complete(
        call_for(max_tokens=50, temperature=1.7, stop=("END",), user="u-42", top_p=0.9)
    )
    assert wire.body["max_tokens"] == 50
    assert wire.body["temperature"] == 1.0
    assert wire.body["stop_sequences"] == ["END"]
    assert wire.body["metadata"] == {"user_id": "u-42"}
    assert "top_p" not in wire.body  # recent models reject temperature together with top_p


@pytest.mark.parametrize(("given", "sent"), [(-0.5, 0.0), (0.0, 0.0), (0.3, 0.3), (2.0, 1.0)])
async def test_temperature_is_clamped(make: Make, given: float, sent: float) -> None:
    provider, wire = make(answer())
    await provider.complete(call_for(temperature=given))
    assert wire.body["temperature"] == sent


async def test_top_p_alone_is_sent(make: Make) -> None:
    provider, wire = make(answer())
    await provider.complete(call_for(top_p=0.5))
    assert wire.body["top_p"] == 0.5


# --- response translation ------------------------------------------------------------------


async def test_text_response(make: Make) -> None:
    blocks = [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]
    provider, _ = make(answer(message_body(blocks)))
    completion = await provider.complete(call_for())
    assert completion.id == "msg_01"
    assert completion.upstream_model == MODEL
    assert completion.message == {"role": "assistant", "content": "Hello there"}
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(prompt_tokens=12, completion_tokens=5)
    assert completion.created > 0


async def test_tool_use_response(make: Make) -> None:
    blocks: list[JSON] = [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Oslo"}},
    ]
    provider, _ = make(answer(message_body(blocks, stop_reason="tool_use")))
    completion = await provider.complete(call_for())
    assert completion.finish_reason == "tool_calls"
    assert completion.message["content"] == "Let me look."
    assert completion.message["tool_calls"] == [
        {
            "id": "toolu_9",
            "type": "function",
            "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo"})},
        }
    ]


async def test_tool_use_only_response_has_null_content(make: Make) -> None:
    blocks = [{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}]
    provider, _ = make(answer(message_body(blocks, stop_reason="tool_use")))
    completion = await provider.complete(call_for())
    assert completion.message["content"] is None
    assert completion.message["tool_calls"][0]["function"]["arguments"] == "{}"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        (None, None),
    ],
)
async def test_stop_reasons(make: Make, stop_reason: str | None, finish_reason: str | None) -> None:
    provider, _ = make(answer(message_body([{"type": "text", "text": "x"}], stop_reason)))
    completion = await provider.complete(call_for())
    assert completion.finish_reason == finish_reason


async def test_cached_prompt_tokens_count_as_prompt_tokens(make: Make) -> None:
    body = message_body([{"type": "text", "text": "x"}])
    body["usage"] = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1000,
        "output_tokens": 3,
    }
    provider, _ = make(answer(body))
    completion = await provider.complete(call_for())
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (1110, 3)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (1000, 100)
    assert usage.details == {"prompt_tokens_details": {"cached_tokens": 1000}}


# --- streaming -----------------------------------------------------------------------------


async def test_stream_text(make: Make) -> None:
    provider, wire = make(streamed(sse(*TEXT_EVENTS)))
    chunks = [c async for c in provider.stream(call_for())]
    assert wire.body["stream"] is True
    assert [c.delta for c in chunks] == [
        {"role": "assistant"},
        {"content": "Hello"},
        {"content": " world"},
        {},
        {},
    ]
    assert [c.finish_reason for c in chunks] == [None, None, None, "stop", None]
    assert chunks[-1].usage == Usage(prompt_tokens=25, completion_tokens=15)
    assert all(c.usage is None for c in chunks[:-1])
    assert {c.id for c in chunks} == {"msg_s1"}
    assert {c.upstream_model for c in chunks} == {MODEL}


async def test_stream_tool_use(make: Make) -> None:
    def delta(index: int, partial: str) -> JSON:
        kind = {"type": "input_json_delta", "partial_json": partial}
        return {"type": "content_block_delta", "index": index, "delta": kind}

    def tool_start(index: int, tool_id: str) -> JSON:
        block = {"type": "tool_use", "id": tool_id, "name": "weather", "input": {}}
        return {"type": "content_block_start", "index": index, "content_block": block}

    text = {"type": "text_delta", "text": "Checking."}
    usage = {"output_tokens": 40}
    events: list[JSON] = [
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": text},
        {"type": "content_block_stop", "index": 0},
        tool_start(1, "toolu_a"),
        delta(1, ""),
        delta(1, '{"city": '),
        delta(1, '"Paris"}'),
        {"type": "content_block_stop", "index": 1},
        tool_start(2, "toolu_b"),
        delta(2, '{"city": "Rome"}'),
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": usage},
        {"type": "message_stop"},
    ]
    provider, _ = make(streamed(sse(*events)))
    chunks = [c async for c in provider.stream(call_for())]

    def opened(index: int, tool_id: str) -> JSON:
        fn = {"name": "weather", "arguments": ""}
        return {"tool_calls": [{"index": index, "id": tool_id, "type": "function", "function": fn}]}

    def args(index: int, partial: str) -> JSON:
        return {"tool_calls": [{"index": index, "function": {"arguments": partial}}]}

    assert [c.delta for c in chunks] == [
        {"role": "assistant"},
        {"content": "Checking."},
        opened(0, "toolu_a"),
        args(0, '{"city": '),
        args(0, '"Paris"}'),
        opened(1, "toolu_b"),
        args(1, '{"city": "Rome"}'),
        {},
        {},
    ]
    assert chunks[-2].finish_reason == "tool_calls"
    assert chunks[-1].usage == Usage(prompt_tokens=25, completion_tokens=40)


async def test_stream_reads_events_split_across_network_reads(make: Make) -> None:
    raw = sse(*TEXT_EVENTS)

    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for i in range(0, len(raw), 7):
                yield raw[i : i + 7]

    provider, _ = make(lambda request: httpx.Response(200, stream=Trickle()))
    chunks = [c async for c in provider.stream(call_for())]
    assert "".join(str(c.delta.get("content", "")) for c in chunks) == "Hello world"
    assert chunks[-1].usage == Usage(prompt_tokens=25, completion_tokens=15)


@pytest.mark.parametrize(
    "raw",
    [
        sse(*TEXT_EVENTS[:-2]),  # everything but message_delta (the stop reason) and message_stop
        sse(*TEXT_EVENTS[:4]),  # cut after the first text delta
        sse(*TEXT_EVENTS[:4]) + b'event: content_block_delta\ndata: {"type": "content_blo',
        b"",
    ],
    ids=["no-stop-reason", "after-delta", "mid-event", "empty"],
)
async def test_stream_cut_before_message_stop_is_unavailable(make: Make, raw: bytes) -> None:
    provider, _ = make(streamed(raw))
    chunks: list[Chunk] = []
    with pytest.raises(e.ProviderUnavailable, match="stream ended before it finished") as info:
        await collect(provider, call_for(), chunks)
    assert info.value.retryable
    assert all(c.usage is None for c in chunks)


async def test_a_stop_reason_without_message_stop_is_a_complete_stream(make: Make) -> None:
    provider, _ = make(streamed(sse(*TEXT_EVENTS[:-1])))
    chunks = [c async for c in provider.stream(call_for())]
    assert "".join(str(c.delta.get("content", "")) for c in chunks) == "Hello world"
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert chunks[-1].usage == Usage(prompt_tokens=25, completion_tokens=15)


@pytest.mark.parametrize(
    "options",
    [
        {"tools": ({"type": "function", "function": "f"},)},
        {"tools": ({"type": "function", "function": {"name": "f", "parameters": "x"}},)},
        {"tools": ({"type": "function"},)},
        {
            "tools": ({"type": "function", "function": {"name": "f"}},),
            "tool_choice": {"type": "function", "function": "f"},
        },
    ],
)
async def test_malformed_tools_are_a_bad_request(make: Make, options: dict[str, Any]) -> None:
    provider, wire = make(answer())
    with pytest.raises(e.BadRequest):
        await provider.complete(call_for(**options))
    assert wire.requests == []


async def test_a_json_schema_that_is_not_an_object_asks_for_plain_json(make: Make) -> None:
    provider, wire = make(answer())
    fmt = {"type": "json_schema", "json_schema": "not an object"}
    await provider.complete(call_for(response_format=fmt))
    assert "JSON Schema" not in wire.body["system"]


@pytest.mark.parametrize("call", [{"id": 1, "function": "x"}, {"id": "t"}, "t", {"function": {}}])
async def test_malformed_assistant_tool_calls_are_a_bad_request(make: Make, call: Any) -> None:
    provider, wire = make(answer())
    with pytest.raises(e.BadRequest):
        await provider.complete(
            call_for(Message("user", "x"), Message("assistant", None, tool_calls=(call,)))
        )
    assert wire.requests == []


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("overloaded_error", e.RateLimited),
        ("rate_limit_error", e.RateLimited),
        ("api_error", e.ProviderUnavailable),
    ],
)
async def test_error_event_mid_stream(
    make: Make, error_type: str, expected: type[e.ProviderError]
) -> None:
    error = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    provider, _ = make(streamed(sse(*TEXT_EVENTS[:4], error)))
    chunks: list[Chunk] = []
    with pytest.raises(expected, match="Overloaded") as info:
        await collect(provider, call_for(), chunks)
    assert [c.delta for c in chunks] == [{"role": "assistant"}, {"content": "Hello"}]
    assert info.value.retryable
    assert info.value.provider == "anthropic"


async def test_malformed_stream_event_is_a_bad_response(make: Make) -> None:
    raw = sse(START) + b"event: content_block_delta\ndata: {oops\n\n"
    provider, _ = make(streamed(raw))
    with pytest.raises(e.BadResponse):
        await collect(provider, call_for(), [])


async def test_timeout_mid_stream(make: Make) -> None:
    head = sse(*TEXT_EVENTS[:4])

    class Stall(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield head
            raise httpx.ReadTimeout("read timed out")

    provider, _ = make(lambda request: httpx.Response(200, stream=Stall()))
    chunks: list[Chunk] = []
    with pytest.raises(e.Timeout) as info:
        await collect(provider, call_for(), chunks)
    assert len(chunks) == 2
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


# --- error mapping -------------------------------------------------------------------------


def failing(status: int, error_type: str, message: str, headers: JSON | None = None) -> Handler:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return lambda request: httpx.Response(status, json=body, headers=headers)


async def invoke(provider: AnthropicProvider, method: str) -> None:
    if method == "complete":
        await provider.complete(call_for())
    else:
        await collect(provider, call_for(), [])


TOO_LONG = "prompt is too long: 210000 tokens > 200000 maximum"
STATUS_CASES: list[tuple[int, str, str, type[e.ProviderError], bool]] = [
    (400, "invalid_request_error", "messages: field required", e.BadRequest, False),
    (400, "invalid_request_error", TOO_LONG, e.ContextTooLong, False),
    (401, "authentication_error", "invalid x-api-key", e.AuthFailed, False),
    (403, "permission_error", "not allowed", e.AuthFailed, False),
    (404, "not_found_error", "model: claude-nope", e.ProviderUnavailable, False),
    (408, "timeout_error", "request timed out", e.Timeout, True),
    (413, "request_too_large", "Request exceeds the maximum size", e.ContextTooLong, False),
    (422, "invalid_request_error", "unprocessable", e.BadRequest, False),
    (500, "api_error", "Internal server error", e.ProviderUnavailable, True),
    (502, "api_error", "bad gateway", e.ProviderUnavailable, True),
    (503, "api_error", "unavailable", e.ProviderUnavailable, True),
    (529, "overloaded_error", "Overloaded", e.RateLimited, True),
]


@pytest.mark.parametrize("method", ["complete", "stream"])
@pytest.mark.parametrize(
    ("status", "error_type", "message", "expected", "retryable"),
    STATUS_CASES,
    ids=[f"{c[0]}-{c[3].__name__}" for c in STATUS_CASES],
)
async def test_http_errors(
    make: Make,
    method: str,
    status: int,
    error_type: str,
    message: str,
    expected: type[e.ProviderError],
    retryable: bool,
) -> None:
    provider, _ = make(failing(status, error_type, message))
    with pytest.raises(expected) as info:
        await invoke(provider, method)
    assert type(info.value) is expected
    assert info.value.status == status
    assert info.value.retryable is retryable
    assert info.value.provider == "anthropic" and info.value.model == "claude-sonnet"
    assert message[:20] in info.value.message
    assert KEY not in info.value.message


@pytest.mark.parametrize("method", ["complete", "stream"])
async def test_rate_limited_with_retry_after(make: Make, method: str) -> None:
    provider, _ = make(failing(429, "rate_limit_error", "slow down", {"retry-after": "7"}))
    with pytest.raises(e.RateLimited) as info:
        await invoke(provider, method)
    assert info.value.retry_after == 7.0
    assert info.value.status == 429
    assert info.value.retryable


def raising(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize("method", ["complete", "stream"])
@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ReadTimeout, e.Timeout),
        (httpx.ConnectTimeout, e.Timeout),
        (httpx.ConnectError, e.ProviderUnavailable),
        (httpx.RemoteProtocolError, e.ProviderUnavailable),
    ],
)
async def test_transport_errors(
    make: Make, method: str, exc: type[httpx.TransportError], expected: type[e.ProviderError]
) -> None:
    provider, _ = make(raising(exc))
    with pytest.raises(expected) as info:
        await invoke(provider, method)
    assert info.value.retryable
    assert isinstance(info.value.__cause__, exc)


@pytest.mark.parametrize(
    "content",
    [b"<html>gateway</html>", b"[1, 2]", b'{"id": "msg_1"}', b'{"content": [1]}'],
    ids=["not-json", "not-an-object", "no-content", "bad-block"],
)
async def test_malformed_body_is_a_bad_response(make: Make, content: bytes) -> None:
    provider, _ = make(lambda request: httpx.Response(200, content=content))
    with pytest.raises(e.BadResponse) as info:
        await provider.complete(call_for())
    assert info.value.retryable


async def test_error_body_that_is_not_json(make: Make) -> None:
    provider, _ = make(lambda request: httpx.Response(502, content=b"<html>Bad Gateway</html>"))
    with pytest.raises(e.ProviderUnavailable, match="Bad Gateway"):
        await provider.complete(call_for())


# --- health --------------------------------------------------------------------------------


async def test_health(make: Make) -> None:
    provider, wire = make(lambda request: httpx.Response(200, json={"data": []}))
    health = await provider.health()
    assert health.ok
    assert wire.requests[0].method == "GET"
    assert wire.requests[0].url.path == "/v1/models"
    assert wire.requests[0].headers["x-api-key"] == KEY


async def test_health_reports_failures(make: Make) -> None:
    provider, _ = make(failing(401, "authentication_error", "bad key"))
    assert not (await provider.health()).ok
    down, _ = make(raising(httpx.ConnectError))
    health = await down.health()
    assert not health.ok and health.detail == "ConnectError"


async def test_name(make: Make) -> None:
    provider, _ = make(answer())
    assert provider.name == "anthropic"
