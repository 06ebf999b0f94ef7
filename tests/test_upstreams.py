"""The loopback upstreams behave as scripted, checked with plain httpx (and the OpenAI SDK)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.upstreams import Upstream, upstreams

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"
PATHS = [OPENAI, ANTHROPIC]
STATUS_FAULTS = ["400", "401", "403", "404", "408", "413", "422", "500", "502", "503", "529"]

WEATHER_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
WEATHER_ANTHROPIC = {
    "name": "get_weather",
    "input_schema": WEATHER_OPENAI["function"]["parameters"],  # type: ignore[index]
}


@pytest.fixture(scope="module")
def server() -> Iterator[Upstream]:
    with Upstream("alpha") as up:
        yield up


@pytest.fixture
def up(server: Upstream) -> Upstream:
    server.reset()
    return server


@pytest.fixture
def client(server: Upstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        yield c


def body(path: str, *, stream: bool = False, text: str = "hi there", **extra: Any) -> dict:
    out: dict[str, Any] = {"model": "test-model", "messages": [{"role": "user", "content": text}]}
    if path == ANTHROPIC:
        out["max_tokens"] = 64
    if stream:
        out["stream"] = True
    return out | extra


def read_stream(
    client: httpx.Client, path: str, payload: dict
) -> tuple[list[str], Exception | None]:
    """The SSE lines received (blank lines dropped) and the transport error, if any."""
    lines: list[str] = []
    try:
        with client.stream("POST", path, json=payload) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            lines.extend(line for line in resp.iter_lines() if line)
    except httpx.TransportError as exc:
        return lines, exc
    return lines, None


def data(lines: list[str]) -> list[Any]:
    """The data payloads, JSON-decoded (except the literal [DONE])."""
    out = []
    for line in lines:
        if line.startswith("data: "):
            raw = line.removeprefix("data: ")
            out.append(raw if raw == "[DONE]" else json.loads(raw))
    return out


def events(lines: list[str]) -> list[str]:
    return [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]


def openai_text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c.get("choices")
    )


def anthropic_text(chunks: list[Any]) -> str:
    return "".join(
        c["delta"]["text"]
        for c in chunks
        if c["type"] == "content_block_delta" and c["delta"]["type"] == "text_delta"
    )


# -- ok ----------------------------------------------------------------------------------------


def test_openai_completion(up: Upstream, client: httpx.Client) -> None:
    resp = client.post(OPENAI, json=body(OPENAI, text="one two three"))
    assert resp.status_code == 200
    out = resp.json()
    assert out["object"] == "chat.completion"
    assert out["id"] and out["model"] == "test-model"
    choice = out["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello from alpha"}
    assert choice["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


def test_anthropic_message(up: Upstream, client: httpx.Client) -> None:
    payload = body(ANTHROPIC, text="one two three", system="be brief")
    out = client.post(ANTHROPIC, json=payload).json()
    assert out["type"] == "message" and out["role"] == "assistant"
    assert out["id"] and out["model"] == "test-model"
    assert out["content"] == [{"type": "text", "text": "Hello from alpha"}]
    assert out["stop_reason"] == "end_turn"
    assert out["usage"] == {"input_tokens": 5, "output_tokens": 3}


def test_reply_names_the_upstream_and_can_be_set() -> None:
    with Upstream("beta", reply="{name} says hi") as up:
        out = httpx.post(up.base_url + OPENAI, json=body(OPENAI)).json()
    assert out["choices"][0]["message"]["content"] == "beta says hi"


def test_openai_stream(up: Upstream, client: httpx.Client) -> None:
    lines, err = read_stream(client, OPENAI, body(OPENAI, stream=True))
    assert err is None
    chunks = data(lines)
    assert chunks[-1] == "[DONE]"
    chunks = chunks[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    contents = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert len(contents) >= 3
    assert openai_text(chunks) == "Hello from alpha"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert all("usage" not in c for c in chunks)


def test_openai_stream_usage_chunk(up: Upstream, client: httpx.Client) -> None:
    payload = body(OPENAI, stream=True, stream_options={"include_usage": True})
    chunks = data(read_stream(client, OPENAI, payload)[0])
    assert chunks[-1] == "[DONE]"
    usage = chunks[-2]
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-2])


def test_anthropic_stream(up: Upstream, client: httpx.Client) -> None:
    lines, err = read_stream(client, ANTHROPIC, body(ANTHROPIC, stream=True))
    assert err is None
    names = events(lines)
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert names.count("content_block_delta") >= 3
    chunks = data(lines)
    assert [c["type"] for c in chunks] == names  # each event's data carries its own type
    assert chunks[0]["message"]["usage"]["input_tokens"] == 2
    assert anthropic_text(chunks) == "Hello from alpha"
    delta = chunks[-2]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 3


def test_models(up: Upstream, client: httpx.Client) -> None:
    out = client.get("/v1/models").json()
    assert out["object"] == "list" and out["data"][0]["id"] == "test-model"
    out = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert out["data"][0] == out["data"][0] | {"type": "model", "id": "test-model"}
    assert up.calls == 0  # only chat requests are recorded


# -- tool calls --------------------------------------------------------------------------------


def test_openai_tool_call(up: Upstream, client: httpx.Client) -> None:
    payload = body(OPENAI, text="please call the tool", tools=[WEATHER_OPENAI])
    choice = client.post(OPENAI, json=payload).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "alpha", "days": 1}


def test_openai_tool_call_stream(up: Upstream, client: httpx.Client) -> None:
    payload = body(OPENAI, stream=True, text="Call the tool", tools=[WEATHER_OPENAI])
    chunks = data(read_stream(client, OPENAI, payload)[0])
    assert chunks[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    first = deltas[0]["tool_calls"][0]
    assert first["index"] == 0 and first["id"] and first["function"]["name"] == "get_weather"
    arguments = "".join(
        d["tool_calls"][0]["function"]["arguments"] for d in deltas if d.get("tool_calls")
    )
    assert json.loads(arguments) == {"city": "alpha", "days": 1}
    assert len([d for d in deltas if d.get("tool_calls")]) >= 3
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_anthropic_tool_use(up: Upstream, client: httpx.Client) -> None:
    payload = body(ANTHROPIC, text="call the tool now", tools=[WEATHER_ANTHROPIC])
    out = client.post(ANTHROPIC, json=payload).json()
    assert out["stop_reason"] == "tool_use"
    (block,) = out["content"]
    assert block["type"] == "tool_use" and block["id"] and block["name"] == "get_weather"
    assert block["input"] == {"city": "alpha", "days": 1}


def test_anthropic_tool_use_stream(up: Upstream, client: httpx.Client) -> None:
    payload = body(ANTHROPIC, stream=True, text="call the tool", tools=[WEATHER_ANTHROPIC])
    lines, err = read_stream(client, ANTHROPIC, payload)
    assert err is None
    chunks = data(lines)
    start = next(c for c in chunks if c["type"] == "content_block_start")
    assert start["content_block"]["type"] == "tool_use"
    assert start["content_block"]["name"] == "get_weather"
    partial = "".join(
        c["delta"]["partial_json"] for c in chunks if c["type"] == "content_block_delta"
    )
    assert json.loads(partial) == {"city": "alpha", "days": 1}
    assert next(c for c in chunks if c["type"] == "message_delta")["delta"]["stop_reason"] == (
        "tool_use"
    )
    assert events(lines)[-1] == "message_stop"


def test_tools_without_the_phrase_answer_text(up: Upstream, client: httpx.Client) -> None:
    payload = body(OPENAI, text="what's the weather", tools=[WEATHER_OPENAI])
    message = client.post(OPENAI, json=payload).json()["choices"][0]["message"]
    assert message["content"] == "Hello from alpha" and "tool_calls" not in message


# -- status faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", STATUS_FAULTS)
def test_status_fault_openai_shape(up: Upstream, client: httpx.Client, fault: str) -> None:
    up.script(fault)
    resp = client.post(OPENAI, json=body(OPENAI))
    assert resp.status_code == int(fault)
    error = resp.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert error["message"] and error["type"]
    assert "retry-after" not in resp.headers


@pytest.mark.parametrize("fault", STATUS_FAULTS)
def test_status_fault_anthropic_shape(up: Upstream, client: httpx.Client, fault: str) -> None:
    up.script(fault)
    resp = client.post(ANTHROPIC, json=body(ANTHROPIC, stream=True))  # errors come before streams
    assert resp.status_code == int(fault)
    out = resp.json()
    assert out["type"] == "error"
    assert out["error"]["message"] and out["error"]["type"]
    expected = {"401": "authentication_error", "404": "not_found_error", "529": "overloaded_error"}
    if fault in expected:
        assert out["error"]["type"] == expected[fault]


@pytest.mark.parametrize(
    ("fault", "retry_after"), [("429", "1"), ("429:7", "7"), ("429:0.5", "0.5"), ("429:none", None)]
)
@pytest.mark.parametrize("path", PATHS)
def test_rate_limit(
    up: Upstream, client: httpx.Client, path: str, fault: str, retry_after: str | None
) -> None:
    up.script(fault)
    resp = client.post(path, json=body(path))
    assert resp.status_code == 429
    assert resp.headers.get("retry-after") == retry_after
    if path == OPENAI:
        assert resp.json()["error"]["code"] == "rate_limit_exceeded"
    else:
        assert resp.json()["error"]["type"] == "rate_limit_error"


def test_content_policy(up: Upstream, client: httpx.Client) -> None:
    up.script("content_policy", "content_policy")
    resp = client.post(OPENAI, json=body(OPENAI))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "content_policy_violation"
    resp = client.post(ANTHROPIC, json=body(ANTHROPIC))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "content policy" in error["message"]


def test_context_length(up: Upstream, client: httpx.Client) -> None:
    up.script("context_length", "context_length")
    resp = client.post(OPENAI, json=body(OPENAI))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "context_length_exceeded"
    resp = client.post(ANTHROPIC, json=body(ANTHROPIC))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("prompt is too long: ")


# -- timing faults -----------------------------------------------------------------------------


def test_hang_times_out_the_client(up: Upstream) -> None:
    up.script("hang", "hang")
    with httpx.Client(base_url=up.base_url, timeout=httpx.Timeout(5, read=0.5)) as c:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.post(OPENAI, json=body(OPENAI))
        with (
            pytest.raises(httpx.ReadTimeout),
            c.stream("POST", ANTHROPIC, json=body(ANTHROPIC, stream=True)),
        ):
            pass  # not even the status line arrives
        assert time.monotonic() - started < 2.5
    assert up.calls == 2


def test_stop_releases_a_hanging_request() -> None:
    up = Upstream("gamma").start()
    up.always("hang")
    outcome: list[BaseException | httpx.Response] = []

    def call() -> None:
        try:
            outcome.append(httpx.post(up.base_url + OPENAI, json=body(OPENAI), timeout=10))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 5
    while up.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    up.stop()
    assert time.monotonic() - started < 2
    thread.join(timeout=5)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError)


def test_slow(up: Upstream, client: httpx.Client) -> None:
    up.script("slow:0.3")
    started = time.monotonic()
    resp = client.post(OPENAI, json=body(OPENAI))
    assert time.monotonic() - started >= 0.3
    assert resp.json()["choices"][0]["message"]["content"] == "Hello from alpha"


def test_slow_stream_delays_the_first_chunk(up: Upstream, client: httpx.Client) -> None:
    up.script("slow:0.3")
    started = time.monotonic()
    with client.stream("POST", ANTHROPIC, json=body(ANTHROPIC, stream=True)) as resp:
        assert resp.status_code == 200
        lines = resp.iter_lines()
        first = next(lines)
        assert time.monotonic() - started >= 0.3
        rest = [first, *lines]
    assert events(rest)[-1] == "message_stop"
    assert anthropic_text(data(rest)) == "Hello from alpha"


# -- broken bodies and streams -----------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_malformed(up: Upstream, client: httpx.Client, path: str) -> None:
    up.script("malformed")
    resp = client.post(path, json=body(path))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        resp.json()


@pytest.mark.parametrize("path", PATHS)
def test_malformed_stream(up: Upstream, client: httpx.Client, path: str) -> None:
    up.script("malformed")
    lines, err = read_stream(client, path, body(path, stream=True))
    assert err is None
    first = next(line for line in lines if line.startswith("data: "))
    with pytest.raises(json.JSONDecodeError):
        json.loads(first.removeprefix("data: "))


def test_reset_mid_stream_openai(up: Upstream, client: httpx.Client) -> None:
    up.script("reset_mid_stream")
    lines, err = read_stream(client, OPENAI, body(OPENAI, stream=True))
    assert isinstance(err, httpx.RemoteProtocolError | httpx.ReadError)
    chunks = data(lines)
    assert len(chunks) == 3  # the role chunk and two content chunks
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert openai_text(chunks) == "Hello from"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_reset_mid_stream_anthropic(up: Upstream, client: httpx.Client) -> None:
    up.script("reset_mid_stream")
    lines, err = read_stream(client, ANTHROPIC, body(ANTHROPIC, stream=True))
    assert isinstance(err, httpx.RemoteProtocolError | httpx.ReadError)
    assert events(lines) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
    ]
    assert anthropic_text(data(lines)) == "Hello from"


@pytest.mark.parametrize("path", PATHS)
def test_reset_without_stream_sends_no_response(
    up: Upstream, client: httpx.Client, path: str
) -> None:
    up.script("reset_mid_stream", "ok")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(path, json=body(path))
    assert client.post(path, json=body(path)).status_code == 200  # the server carries on


def test_truncated_stream_openai(up: Upstream, client: httpx.Client) -> None:
    up.script("truncated_stream")
    lines, err = read_stream(client, OPENAI, body(OPENAI, stream=True))
    assert err is None  # a clean end of the HTTP body...
    chunks = data(lines)
    assert chunks and "[DONE]" not in chunks  # ...but no [DONE]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert openai_text(chunks) == "Hello from"


def test_truncated_stream_anthropic(up: Upstream, client: httpx.Client) -> None:
    up.script("truncated_stream")
    lines, err = read_stream(client, ANTHROPIC, body(ANTHROPIC, stream=True))
    assert err is None
    names = events(lines)
    assert names[0] == "message_start" and "content_block_delta" in names
    assert not {"content_block_stop", "message_delta", "message_stop"} & set(names)


def test_error_in_stream_openai(up: Upstream, client: httpx.Client) -> None:
    up.script("error_in_stream")
    lines, err = read_stream(client, OPENAI, body(OPENAI, stream=True))
    assert err is None
    chunks = data(lines)
    assert openai_text(chunks[:-1]) == "Hello"
    assert set(chunks[-1]) == {"error"}
    assert chunks[-1]["error"]["message"] and chunks[-1]["error"]["type"] == "server_error"
    assert "[DONE]" not in chunks


def test_error_in_stream_anthropic(up: Upstream, client: httpx.Client) -> None:
    up.script("error_in_stream")
    lines, err = read_stream(client, ANTHROPIC, body(ANTHROPIC, stream=True))
    assert err is None
    assert events(lines)[-1] == "error"
    assert "message_stop" not in events(lines)
    chunks = data(lines)
    assert anthropic_text(chunks[:-1]) == "Hello"
    assert chunks[-1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


# -- script, recording -------------------------------------------------------------------------


def test_script_then_always(up: Upstream, client: httpx.Client) -> None:
    up.script("500", "ok")
    up.always("503")
    statuses = [client.post(p, json=body(p)).status_code for p in [OPENAI, ANTHROPIC, OPENAI]]
    assert statuses == [500, 200, 503]
    up.always("ok")
    assert client.post(OPENAI, json=body(OPENAI)).status_code == 200
    assert up.calls == 4


def test_unknown_fault_is_refused(up: Upstream) -> None:
    for bad in ["418", "slow", "slow:x", "429:soon", "reset"]:
        with pytest.raises(ValueError, match="unknown upstream fault"):
            up.script(bad)
    with pytest.raises(ValueError, match="unknown upstream fault"):
        up.always("nope")


def test_requests_are_recorded(up: Upstream, client: httpx.Client) -> None:
    up.script("500")
    client.post(OPENAI, json=body(OPENAI, text="first"), headers={"Authorization": "Bearer k1"})
    payload = body(ANTHROPIC, stream=True, text="second")
    read_stream(client, ANTHROPIC, payload | {"stream": True})
    client.post(ANTHROPIC, json=payload, headers={"x-api-key": "k2"})
    assert up.calls == 3
    first, second, third = up.requests
    assert first.path == OPENAI and first.headers["authorization"] == "Bearer k1"
    assert first.body["messages"] == [{"role": "user", "content": "first"}]
    assert second.path == ANTHROPIC and second.body["stream"] is True
    assert third.headers["x-api-key"] == "k2" and third.body["max_tokens"] == 64


def test_two_upstreams_are_independent(up: Upstream) -> None:
    with upstreams("beta", "gamma") as (beta, gamma):
        assert len({up.base_url, beta.base_url, gamma.base_url}) == 3
        beta.always("502")
        assert httpx.post(beta.base_url + OPENAI, json=body(OPENAI)).status_code == 502
        for other in (up, gamma):
            out = httpx.post(other.base_url + OPENAI, json=body(OPENAI)).json()
            assert out["choices"][0]["message"]["content"] == f"Hello from {other.name}"
        assert beta.calls == gamma.calls == up.calls == 1


# -- the official OpenAI SDK understands it ----------------------------------------------------


def test_openai_sdk(up: Upstream) -> None:
    sdk = openai.OpenAI(base_url=up.base_url + "/v1", api_key="sk-test", max_retries=0)
    messages: Any = [{"role": "user", "content": "hello"}]
    done = sdk.chat.completions.create(model="m1", messages=messages)
    assert done.choices[0].message.content == "Hello from alpha"
    assert done.usage is not None and done.usage.total_tokens == 4

    stream = sdk.chat.completions.create(
        model="m1", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from alpha"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3

    up.script("429:3", "error_in_stream")
    with pytest.raises(openai.RateLimitError) as info:
        sdk.chat.completions.create(model="m1", messages=messages)
    assert info.value.response.headers["retry-after"] == "3"
    with pytest.raises(openai.APIError):
        list(sdk.chat.completions.create(model="m1", messages=messages, stream=True))
    assert up.requests[0].headers["authorization"] == "Bearer sk-test"


def test_restart_keeps_the_port() -> None:
    up = Upstream("delta").start()
    url = up.base_url
    up.stop()
    with pytest.raises(httpx.ConnectError):  # down: connection refused
        httpx.post(url + OPENAI, json=body(OPENAI))
    with up.start():
        assert up.base_url == url
        assert httpx.post(url + OPENAI, json=body(OPENAI)).status_code == 200


async def test_async_client(up: Upstream) -> None:
    up.script("503")
    async with httpx.AsyncClient(base_url=up.base_url) as c:
        assert (await c.post(ANTHROPIC, json=body(ANTHROPIC))).status_code == 503
        async with c.stream("POST", OPENAI, json=body(OPENAI, stream=True)) as resp:
            lines = [line async for line in resp.aiter_lines() if line]
    assert data(lines)[-1] == "[DONE]"
    sdk = openai.AsyncOpenAI(base_url=up.base_url + "/v1", api_key="k", max_retries=0)
    messages: Any = [{"role": "user", "content": "hello"}]
    done = await sdk.chat.completions.create(model="m", messages=messages)
    assert done.choices[0].message.content == "Hello from alpha"
    await sdk.close()
