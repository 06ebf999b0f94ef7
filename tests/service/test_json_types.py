"""Values of the wrong JSON type are a 400 naming the field, as OpenAI and Anthropic answer them,
not coerced ("10" as max_tokens, true as 1, "yes" as a boolean); and a validation error names
the field the client sent, not the branch of a union pydantic tried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.config import Config
from router.core import Router
from service.app import create_app
from tests.service.test_route_api import assert_openai_error

ASK = [{"role": "user", "content": "hello there, how are you"}]


@pytest.fixture
def client(config: Config, router: Router) -> Iterator[TestClient]:
    with TestClient(create_app(config, router), raise_server_exceptions=False) as c:
        yield c


def anthropic_400(resp: Any) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    "field",
    [
        {"max_tokens": "10"},
        {"max_tokens": True},
        {"max_completion_tokens": "10"},
        {"n": "1"},
        {"seed": "5"},
        {"logprobs": "yes"},
        {"top_logprobs": "2"},
        {"parallel_tool_calls": "no"},
        {"store": 1},
    ],
)
def test_chat_fields_of_the_wrong_json_type_are_a_400(
    client: TestClient, field: dict[str, Any]
) -> None:
    resp = client.post("/v1/chat/completions", json={"model": "auto", "messages": ASK, **field})
    err = assert_openai_error(resp, 400, "invalid_request")
    assert err["param"] == next(iter(field))


def test_a_json_integer_is_still_a_number_where_floats_are_asked(client: TestClient) -> None:
    body = {"model": "auto", "messages": ASK, "temperature": 1, "max_tokens": 16, "seed": 3}
    assert client.post("/v1/chat/completions", json=body).status_code == 200


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        ({"stream": "yes"}, "stream"),
        ({"stream": 1}, "stream"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"top_k": True}, "top_k"),
        ({"tools": [{"name": "lookup"}]}, "input_schema"),
        ({"thinking": {"type": "enabled"}}, "budget_tokens"),
        ({"thinking": {"type": "enabled", "budget_tokens": "2048"}}, "budget_tokens"),
        ({"system": [{"type": "image"}]}, "system.0.type"),
    ],
)
def test_messages_fields_of_the_wrong_type_are_an_anthropic_400(
    client: TestClient, field: dict[str, Any], needle: str
) -> None:
    body = {"model": "auto", "max_tokens": 32, "messages": ASK, **field}
    assert needle in anthropic_400(client.post("/v1/messages", json=body))


def test_server_tools_need_no_input_schema(client: TestClient) -> None:
    tool = {"type": "web_search_20250305", "name": "web_search"}
    body = {"model": "auto", "max_tokens": 32, "messages": ASK, "tools": [tool]}
    resp = client.post("/v1/messages", json=body)
    assert resp.status_code == 200, resp.text


def test_a_union_error_names_the_field_not_the_branch(client: TestClient) -> None:
    bad = [{"role": "user", "content": 5}]
    resp = client.post("/v1/chat/completions", json={"model": "auto", "messages": bad})
    err = assert_openai_error(resp, 400, "invalid_request")
    assert err["param"] == "messages.0.content"
    assert err["message"].startswith("messages.0.content: ")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route", "/v1/messages"])
@pytest.mark.parametrize(
    "raw", [b'{"input": "caf\xe9"}', b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"]
)
def test_bytes_that_are_not_utf8_json_are_a_400_that_says_so(
    client: TestClient, path: str, raw: bytes
) -> None:
    resp = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    body = resp.json()
    message = body["error"]["message"]
    assert "not valid JSON" in message and "UTF-8" in message
    if path != "/v1/messages":
        assert body["error"]["code"] == "invalid_request"
