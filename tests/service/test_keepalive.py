"""SSE keep-alive: a stream whose first token is slow starts at once with comments, on both
APIs; a failure after that is an in-band error, never a silent end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.service.api_stack import ApiStack, api_stack


def slow_first_tokens(raw: dict[str, Any]) -> None:
    raw["api"]["sse_keepalive_s"] = 0.2
    raw["execution"]["first_token_timeout_s"] = 3


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir, slow_first_tokens) as s:
        yield s


CHAT = {"model": "alpha", "stream": True, "messages": [{"role": "user", "content": "hi there"}]}


def lines(stack: ApiStack, path: str, body: dict[str, Any]) -> list[str]:
    with httpx.stream("POST", stack.url + path, json=body, timeout=10) as resp:
        assert resp.status_code == 200
        return list(resp.iter_lines())


def test_slow_first_token_gets_keepalive_comments_then_the_answer(stack: ApiStack) -> None:
    stack.primary.script("slow:1")
    got = lines(stack, "/v1/chat/completions", CHAT)
    comments = [i for i, line in enumerate(got) if line.startswith(":")]
    first_data = next(i for i, line in enumerate(got) if line.startswith("data:"))
    assert len(comments) >= 2 and max(comments) < first_data
    assert got[-1] == "data: [DONE]" or got[-2] == "data: [DONE]"
    text = "".join(
        json.loads(line[5:])["choices"][0]["delta"].get("content") or ""
        for line in got
        if line.startswith("data: {")
    )
    assert text == "Hello from primary"


def test_the_openai_sdk_reads_through_the_comments(stack: ApiStack) -> None:
    stack.primary.script("slow:0.7")
    stream = stack.openai().chat.completions.create(
        model="alpha", messages=CHAT["messages"], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
        "Hello from primary"
    )


def test_fast_first_token_has_no_comment_and_the_decision_headers(stack: ApiStack) -> None:
    with httpx.stream("POST", stack.url + "/v1/chat/completions", json=CHAT) as resp:
        assert resp.headers["x-semroute-model"] == "alpha"
        assert not any(line.startswith(":") for line in resp.iter_lines())


def impatient(raw: dict[str, Any]) -> None:
    raw["api"]["sse_keepalive_s"] = 0.1
    raw["execution"]["first_token_timeout_s"] = 0.4


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_failure_after_keepalive_is_an_in_band_error(centroid_dir: Path, path: str) -> None:
    with api_stack(centroid_dir, impatient) as stack:
        stack.primary.always("slow:3")  # no first token in time, then the alternate fails
        stack.secondary.always("503")
        got = lines(stack, path, {**CHAT, "max_tokens": 16})
    assert got[0].startswith(":")
    data = json.loads(next(line for line in got if line.startswith("data:"))[5:])
    if path == "/v1/messages":
        assert got[got.index(next(x for x in got if x.startswith("data:"))) - 1] == "event: error"
        assert data["type"] == "error" and data["error"]["type"] == "api_error"
        assert "candidate model(s) failed" in data["error"]["message"]
        assert not any("message_stop" in line for line in got)
    else:
        assert data["error"]["code"] == "all_candidates_failed"
        assert data["error"]["status"] == 503
        assert "data: [DONE]" not in got


def test_messages_stream_with_keepalive(stack: ApiStack) -> None:
    stack.primary.script("slow:0.7")
    client = anthropic.Anthropic(base_url=stack.url, api_key="unused", max_retries=0)
    with client.messages.stream(
        model="alpha", max_tokens=32, messages=[{"role": "user", "content": "hi there"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Hello from primary"
