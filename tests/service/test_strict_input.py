"""Bad input is a clear 400 (never a 500, never sent upstream): invalid Unicode, non-boolean
``stream``, tool definitions without a name or with a schema that is not an object, malformed
assistant tool calls; and error bodies (BudgetUnavailable → 503) never show where the
infrastructure lives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

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
