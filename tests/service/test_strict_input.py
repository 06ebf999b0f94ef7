"""Bad input is a clear 400 (never a 500, never sent upstream): invalid Unicode, non-boolean
``stream``, tool definitions without a name or with a schema that is not an object, malformed
assistant tool calls (arguments that are not a JSON object, calls no tool message answers),
tool_choice without tools or naming none of them, image URLs that are not strings; every such
4xx is counted in ``semroute_requests_total``; and error bodies (BudgetUnavailable → 503) never
show where the infrastructure lives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from router import errors as e
from router.config.settings import Config
from router.core import Router
from service.app import create_app
from service.errors import router_error_response, status_for
from tests.service.test_route_api import assert_openai_error

ASK = [{"role": "user", "content": "hello there, how are you"}]
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
def client(config: Config, router: Router) -> Iterator[TestClient]:
    with TestClient(create_app(config, router), raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    """As a client sends it: JSON with \\u escapes (a lone surrogate is valid JSON text)."""
    data = json.dumps(body).encode()
    return client.post(path, content=data, headers={"content-type": "application/json"})


def chat(client: TestClient, **body: Any) -> Any:
    return post(client, "/v1/chat/completions", {"model": "auto", "messages": ASK, **body})


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "user", "content": "bad \ud800 text"}], "messages.0.content"),
        ([{"role": "user", "content": [{"type": "text", "text": "x\udfff"}]}], None),
        ([{"role": "user", "content": "ok", "name": "\udc00"}], "messages.0.name"),
    ],
)
def test_lone_surrogates_are_a_400_naming_the_field(
    client: TestClient, path: str, messages: list[dict[str, Any]], param: str | None
) -> None:
    resp = post(client, path, {"model": "auto", "messages": messages})
    err = assert_openai_error(resp, 400, "invalid_request")
    assert "Unicode" in err["message"]
    if param is not None:
        assert err["param"] == param


def test_a_lone_surrogate_in_route_input_is_a_400(client: TestClient) -> None:
    resp = post(client, "/v1/route", {"input": "route \ud83d this"})
    assert assert_openai_error(resp, 400)["param"] == "input"


def test_raw_bytes_that_are_not_utf8_are_a_400(client: TestClient) -> None:
    resp = client.post(
        "/v1/chat/completions",
        content=b'{"model": "auto", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        headers={"content-type": "application/json"},
    )
    assert_openai_error(resp, 400)


@pytest.mark.parametrize("stream", ["yes", "true", 1, "1", None])
def test_stream_must_be_a_json_boolean(client: TestClient, stream: Any) -> None:
    assert_openai_error(chat(client, stream=stream), 400)


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "function", "function": {"parameters": {"type": "object"}}},  # no name
        {"type": "function", "function": {"name": ""}},
        {"type": "function", "function": {"name": "has space"}},
        {"type": "function", "function": {"name": "f", "parameters": "not a schema"}},
        {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}},
        {"type": "function", "function": "f"},
        {"type": "function"},
        {"function": {"name": "f"}},  # no type
        "get_weather",
    ],
)
def test_invalid_tools_are_a_400(client: TestClient, tool: Any) -> None:
    err = assert_openai_error(chat(client, tools=[WEATHER, tool]), 400)
    assert err["param"] is None or err["param"].startswith("tools")


@pytest.mark.parametrize(
    "body",
    [
        {"tools": [WEATHER], "tool_choice": "sometimes"},
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": "get_weather"}},
        {"tools": [WEATHER], "tool_choice": {"function": {"name": "get_weather"}}},
        {"response_format": {"type": "yaml"}},
        {"response_format": {"type": "json_schema", "json_schema": "x"}},
        {"response_format": {"type": "json_schema", "json_schema": {"schema": []}}},
    ],
)
def test_invalid_tool_choice_and_response_format_are_a_400(
    client: TestClient, body: dict[str, Any]
) -> None:
    assert_openai_error(chat(client, **body), 400)


def test_a_valid_tool_passes(client: TestClient) -> None:
    assert chat(client, tools=[WEATHER]).status_code == 200


@pytest.mark.parametrize(
    "calls",
    [
        [{"id": 1, "function": "x"}],
        [{"id": "c1", "function": "x"}],
        [{"id": "c1", "type": "function", "function": {"arguments": "{}"}}],  # no name
        [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {}}}],
        [{"function": {"name": "f", "arguments": "{}"}}],  # no id
        [{"id": "c1", "type": "retrieval", "function": {"name": "f"}}],
        ["c1"],
    ],
)
def test_malformed_assistant_tool_calls_are_a_400(client: TestClient, calls: Any) -> None:
    messages = [
        {"role": "user", "content": "what is the weather"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": "thanks, and tomorrow?"},
    ]
    resp = client.post("/v1/chat/completions", json={"model": "auto", "messages": messages})
    assert assert_openai_error(resp, 400)["param"].startswith("messages.1.tool_calls")


@pytest.mark.parametrize(
    "message",
    [
        {"role": "tool", "content": "sunny"},  # answers no tool call
        {"role": "user", "content": "x", "tool_calls": [{"id": "c1", "function": {"name": "f"}}]},
        {"role": "robot", "content": "x"},
        {"role": "user", "content": 5},
        {"role": "user", "content": [{"type": "text", "text": 5}]},
        {"content": "no role"},
    ],
)
def test_malformed_messages_are_a_400(client: TestClient, message: dict[str, Any]) -> None:
    resp = post(client, "/v1/chat/completions", {"messages": [*ASK, message, *ASK]})
    assert assert_openai_error(resp, 400)["param"].startswith("messages.1")


def sdk(client: TestClient) -> openai.OpenAI:
    """The official client, over the in-process app."""
    return openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)


def called(*ids: str, arguments: str = "{}") -> dict[str, Any]:
    """An assistant message that calls get_weather once per id."""
    calls = [
        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
        for i in ids
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def answer(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "sunny"}


WEATHER_ASK = {"role": "user", "content": "what is the weather in Paris"}
THANKS = {"role": "user", "content": "thanks, and tomorrow?"}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    ("tools", "choice"),
    [
        (None, "required"),
        (None, {"type": "function", "function": {"name": "get_weather"}}),
        (None, "none"),  # OpenAI refuses any tool_choice without tools, even none / auto
        (None, "auto"),
        ([], "required"),
    ],
)
def test_tool_choice_without_tools_is_a_400_naming_tool_choice(
    client: TestClient, path: str, tools: list[Any] | None, choice: Any
) -> None:
    body: dict[str, Any] = {"model": "auto", "messages": ASK, "tool_choice": choice}
    if tools is not None:
        body["tools"] = tools
    err = assert_openai_error(post(client, path, body), 400, "invalid_request")
    assert err["param"] == "tool_choice"
    assert "tools" in err["message"]


def test_tool_choice_without_tools_through_the_openai_client(client: TestClient) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(client).chat.completions.create(
            model="auto",
            messages=ASK,
            tool_choice="required",  # type: ignore[arg-type]
        )
    assert refused.value.status_code == 400 and refused.value.param == "tool_choice"


GET = "get_weather"
ALLOWED = {"mode": "auto", "tools": [{"type": "function", "function": {"name": GET}}]}
NOTE = {"type": "custom", "custom": {"name": "note"}}  # a custom (free-text) tool
SEARCH = {"type": "web_search_20250305", "name": "web_search"}  # an Anthropic-native tool


@pytest.mark.parametrize(
    "body",
    [
        {"tools": [WEATHER], "tool_choice": "required"},
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": GET}}},
        {"tools": [WEATHER], "tool_choice": "none"},
        {"tool_choice": None},  # null is no tool_choice
        {"tools": [WEATHER], "tool_choice": {"type": "allowed_tools", "allowed_tools": ALLOWED}},
        # Anthropic's own shapes and native tools, passed through to Anthropic upstreams
        {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": GET}},
        {"tools": [WEATHER], "tool_choice": {"type": "any"}},
        {
            "tools": [SEARCH],
            "tool_choice": {"type": "function", "function": {"name": "web_search"}},
        },
        {"tools": [SEARCH], "tool_choice": {"type": "tool", "name": "web_search"}},
    ],
)
def test_tool_choice_with_tools_or_null_passes(client: TestClient, body: dict[str, Any]) -> None:
    resp = chat(client, **body)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    ("tools", "choice", "needle"),
    [
        ([WEATHER], {"type": "function", "function": {"name": "get_time"}}, "'get_time'"),
        ([WEATHER], {"type": "function", "function": {"name": "get_weather "}}, "get_weather "),
        ([NOTE], {"type": "function", "function": {"name": "note"}}, "function tool"),
        ([WEATHER], {"type": "custom", "custom": {"name": GET}}, "custom tool"),
        ([WEATHER], {"type": "tool", "name": "get_time"}, "'get_time'"),
        ([SEARCH], {"type": "function", "function": {"name": "web_fetch"}}, "'web_fetch'"),
        (
            [WEATHER],
            {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "required", "tools": [*ALLOWED["tools"], NOTE]},
            },
            "'note'",
        ),
    ],
)
def test_a_tool_choice_naming_a_tool_not_in_tools_is_a_400(
    client: TestClient, path: str, tools: list[Any], choice: Any, needle: str
) -> None:
    body = {"model": "auto", "messages": ASK, "tools": tools, "tool_choice": choice}
    err = assert_openai_error(post(client, path, body), 400, "invalid_request")
    assert err["param"] == "tool_choice"
    assert needle in err["message"] and "not the name of any" in err["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    "choice",
    [
        {"type": "function"},
        {"type": "function", "function": {}},
        {"type": "function", "function": {"name": ""}},
        {"type": "function", "function": {"name": 5}},
        {"type": "function", "function": [GET]},
        {"type": "function", "name": GET},  # Responses-API shape: no function object
        {"type": 7},
        {"type": "bogus"},
        {"type": "tool"},
        {"type": "tool", "name": ""},
        {"name": GET},
        {},
        ["auto"],
        5,
        True,
        "always",
        {"type": "custom", "custom": "note"},
        {"type": "allowed_tools"},
        {"type": "allowed_tools", "allowed_tools": {"mode": "sometimes", "tools": []}},
        {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": "get_weather"}},
        {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [GET]}},
        {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "custom"}]}},
    ],
)
def test_a_malformed_tool_choice_is_a_400_naming_tool_choice(
    client: TestClient, path: str, choice: Any
) -> None:
    body = {"model": "auto", "messages": ASK, "tools": [WEATHER], "tool_choice": choice}
    err = assert_openai_error(post(client, path, body), 400, "invalid_request")
    assert err["param"] == "tool_choice"


def test_a_tool_choice_naming_an_unknown_tool_through_the_openai_client(
    client: TestClient,
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(client).chat.completions.create(
            model="auto",
            messages=ASK,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_time"}},
        )
    assert refused.value.status_code == 400 and refused.value.param == "tool_choice"
    assert "get_time" in refused.value.message


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    "arguments", ["{not json", '{"city": "Paris"', "[1, 2]", "5", '"Paris"', "null", '{"t": NaN}']
)
def test_tool_call_arguments_that_are_not_a_json_object_are_a_400(
    client: TestClient, path: str, arguments: str
) -> None:
    messages = [WEATHER_ASK, called("c1", arguments=arguments), answer("c1"), THANKS]
    err = assert_openai_error(post(client, path, {"messages": messages}), 400, "invalid_request")
    assert err["param"] == "messages.1.tool_calls.0.function.arguments"
    assert "JSON" in err["message"]


@pytest.mark.parametrize("arguments", ['{"city": "Paris"}', "{}", ""])
def test_tool_call_arguments_that_are_an_object_pass(client: TestClient, arguments: str) -> None:
    messages = [WEATHER_ASK, called("c1", arguments=arguments), answer("c1"), THANKS]
    resp = post(client, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER]})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "image_url", "image_url": {"url": 5}}, "messages.0.content.1.image_url.url"),
        ({"type": "image_url", "image_url": {"url": None}}, "messages.0.content.1.image_url.url"),
        ({"type": "image_url", "image_url": {"url": ""}}, "messages.0.content.1.image_url.url"),
        ({"type": "image_url", "image_url": {}}, "messages.0.content.1.image_url.url"),
        ({"type": "image_url", "image_url": 5}, "messages.0.content.1.image_url"),
        ({"type": "image_url"}, "messages.0.content.1"),
    ],
)
def test_an_image_url_that_is_not_a_string_is_a_400(
    client: TestClient, path: str, part: dict[str, Any], param: str
) -> None:
    content = [{"type": "text", "text": "what is in this picture"}, part]
    body = {"messages": [{"role": "user", "content": content}]}
    err = assert_openai_error(post(client, path, body), 400, "invalid_request")
    assert err["param"] == param


@pytest.mark.parametrize(
    "image_url", [{"url": "https://example.com/cat.jpg", "detail": "low"}, "https://x.org/a.png"]
)
def test_an_image_url_part_with_a_url_passes(client: TestClient, image_url: Any) -> None:
    content = [{"type": "text", "text": "what is in this picture"}]
    content.append({"type": "image_url", "image_url": image_url})
    resp = post(client, "/v1/route", {"messages": [{"role": "user", "content": content}]})
    assert resp.status_code == 200, resp.text


def test_many_repeated_tool_call_ids_are_named_once_each(client: TestClient) -> None:
    """5,000 calls under 2 ids: a 400 that names each repeated id once, in order (counted in
    one pass: the check runs on the event loop, before the request is routed)."""
    calls = [called(f"call_{i % 2}")["tool_calls"][0] for i in range(5_000)]
    assistant = {"role": "assistant", "content": None, "tool_calls": calls}
    messages = [*ASK, assistant, answer("call_0"), answer("call_1")]
    body = {"model": "auto", "messages": messages}
    err = assert_openai_error(post(client, "/v1/chat/completions", body), 400, "invalid_request")
    assert "repeated: call_0, call_1" in err["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route"])
@pytest.mark.parametrize(
    ("messages", "param", "needle"),
    [
        ([WEATHER_ASK, called("c1"), THANKS], "messages.1", "c1"),  # a user turn instead
        ([WEATHER_ASK, called("c1", "c2"), answer("c1"), THANKS], "messages.1", "c2"),
        ([WEATHER_ASK, called("c1"), {"role": "assistant", "content": "hm"}], "messages.1", "c1"),
        ([WEATHER_ASK, called("c1")], "messages.1", "c1"),  # the conversation ends
        ([WEATHER_ASK, called("c1"), answer("c9"), THANKS], "messages.2", "c9"),
        ([WEATHER_ASK, called("c1"), answer("c1"), answer("c1"), THANKS], "messages.3", "c1"),
        ([WEATHER_ASK, answer("c1"), THANKS], "messages.1", "c1"),  # answers no call
        ([WEATHER_ASK, called("c1", "c1"), answer("c1"), THANKS], "messages.1", "unique"),
        (
            [WEATHER_ASK, called("c1", "c2", "c1"), answer("c1"), answer("c2"), THANKS],
            "messages.1",
            "c1",
        ),
    ],
)
def test_tool_calls_not_answered_by_tool_messages_are_a_400(
    client: TestClient, path: str, messages: list[dict[str, Any]], param: str, needle: str
) -> None:
    resp = post(client, path, {"messages": messages})
    err = assert_openai_error(resp, 400, "invalid_request")
    assert err["param"] == param
    assert needle in err["message"] and "tool" in err["message"]


def test_unanswered_tool_calls_through_the_openai_client(client: TestClient) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(client).chat.completions.create(
            model="auto",
            messages=[WEATHER_ASK, called("call_1"), THANKS],  # type: ignore[list-item]
        )
    assert refused.value.param == "messages.1" and "call_1" in refused.value.message


def test_tool_calls_answered_in_any_order_pass(client: TestClient) -> None:
    messages = [WEATHER_ASK, called("c1", "c2"), answer("c2"), answer("c1"), THANKS]
    resp = post(client, "/v1/chat/completions", {"messages": messages, "tools": [WEATHER]})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_route_input_is_a_400_naming_input(client: TestClient, text: str) -> None:
    err = assert_openai_error(post(client, "/v1/route", {"input": text}), 400, "invalid_request")
    assert err["param"] == "input" and "input" in err["message"]


def requests_by_status(client: TestClient) -> dict[str, float]:
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "semroute_requests_total":
                status = sample.labels["status"]
                counts[status] = counts.get(status, 0) + sample.value
    return counts


def test_every_refused_request_is_counted_by_its_error_code(
    client: TestClient, config: Config
) -> None:
    json_type = {"content-type": "application/json"}
    refused = [
        lambda: client.post("/v1/chat/completions", content=b"{not json", headers=json_type),
        lambda: client.post("/v1/route", content=b"{not json", headers=json_type),
        lambda: client.post("/v1/messages", content=b"{not json", headers=json_type),
        lambda: client.post("/v1/chat/completions", content=b"\xff", headers=json_type),
        lambda: client.post("/v1/chat/completions", content=b"", headers=json_type),
        lambda: client.post("/v1/route", content=b'{"input": "hi"}'),  # no Content-Type
        lambda: chat(client, temperature=9),
        lambda: chat(client, stream="yes"),
        lambda: chat(client, tool_choice="required"),
        lambda: post(client, "/v1/route", {"input": ""}),
        lambda: post(client, "/v1/route", {"input": "bad \ud800"}),
        lambda: client.post("/v1/messages", json={"model": "auto", "messages": ASK}),
        lambda: client.post("/v1/feedback", json={"rating": "meh"}),
    ]
    for send in refused:
        assert send().status_code == 400
    too_big = b"x" * (config.service.max_body_bytes + 1)
    assert client.post("/v1/chat/completions", content=too_big).status_code == 413
    assert client.get("/v1/no-such-route").status_code == 404
    counts = requests_by_status(client)
    assert counts.get("invalid_request") == len(refused), counts
    assert counts.get("request_too_large") == 1 and counts.get("not_found") == 1, counts


def test_budget_unavailable_is_a_503_without_the_redis_address() -> None:
    exc = e.BudgetUnavailable("budget ledger unavailable: Error 111 connecting to 10.0.3.7:6379.")
    assert status_for(exc) == 503
    resp = router_error_response(exc)
    assert resp.status_code == 503
    body = bytes(resp.body).decode()
    assert "budget_unavailable" in body
    assert "10.0.3.7" not in body and "6379" not in body


def test_attempt_details_do_not_show_addresses() -> None:
    from router.types import Attempt

    attempt = Attempt("a", "p1", "a@p1/x", "provider_unavailable", 1.0, detail="redis://r:6379 x")
    resp = router_error_response(e.AllCandidatesFailed("all failed", attempts=[attempt]))
    assert "redis://" not in bytes(resp.body).decode()


def test_budget_exhausted_says_when_to_retry() -> None:
    resp = router_error_response(e.BudgetExhausted("spent", retry_after=3600.4))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3600"
