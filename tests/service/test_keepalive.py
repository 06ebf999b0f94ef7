"""SSE keep-alive: a stream whose first token is slow starts at once with comments, on both
APIs; a failure after that is an in-band error, never a silent end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message as AsgiMessage

from router.errors import RouterError
from router.execution import StreamSession, StreamStart, completion_stub
from router.types import (
    Answer,
    BudgetTier,
    ChatRequest,
    Chunk,
    Decision,
    Message,
    ModelTier,
    Priority,
    Requirements,
    Usage,
)
from service.keepalive import KEEPALIVE, pending
from service.relay import SessionStream
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


def _upstream_session(settled: list[Usage]) -> StreamSession:
    async def rest() -> AsyncIterator[Chunk]:
        yield Chunk(delta={"content": " there"}, finish_reason="stop")

    async def settle(usage: Usage) -> float:
        settled.append(usage)
        return 0.0

    decision = Decision(
        match=None,
        route="alpha",
        candidates=(),
        skipped=(),
        priority=Priority.QUALITY,
        budget_tier=BudgetTier.QUALITY,
        centroid_version="v1",
        embedded=None,
        requirements=Requirements(),
    )
    request = ChatRequest(messages=(Message(role="user", content="hi"),))
    answer = Answer(decision, completion_stub(), "alpha", "primary", ModelTier.STANDARD)
    start = StreamStart(head=(Chunk(delta={"content": "Hello"}),), rest=rest())
    return StreamSession(request, answer, start, settle=settle)


async def test_a_stream_that_opens_as_the_client_leaves_is_still_settled() -> None:
    """The client goes while a keep-alive comment is out and the stream opens meanwhile: the
    session opened is closed (its budget hold settled), not left to leak."""
    settled: list[Usage] = []
    opened = asyncio.Event()

    async def opening() -> StreamSession:
        await opened.wait()
        return _upstream_session(settled)

    task = asyncio.ensure_future(opening())

    def render(session: StreamSession) -> AsyncGenerator[bytes]:
        raise AssertionError("never rendered: the client has gone")

    def fail(exc: RouterError) -> bytes:
        raise AssertionError(exc)

    body = pending(task, 0.05, render, fail)
    assert await body.__anext__() == KEEPALIVE
    opened.set()
    await asyncio.sleep(0)  # the stream opens while the comment is being sent
    assert task.done()
    await body.aclose()  # the client disconnected
    assert len(settled) == 1


async def test_a_rendered_stream_is_closed_with_the_body() -> None:
    """The client goes in the middle of the rendered stream: its session is closed at once."""
    settled: list[Usage] = []
    session = _upstream_session(settled)
    task: asyncio.Task[StreamSession] = asyncio.ensure_future(asyncio.sleep(0, session))
    await task

    async def render(opened: StreamSession) -> AsyncGenerator[bytes]:
        try:
            async for chunk in opened.chunks():
                yield str(chunk.delta.get("content")).encode()
        finally:
            await opened.close(completed=False)

    def fail(exc: RouterError) -> bytes:
        raise AssertionError(exc)

    body = pending(task, 0.05, render, fail)
    assert await body.__anext__() == b"Hello"
    await body.aclose()
    assert len(settled) == 1


async def test_a_stream_whose_client_left_before_the_first_byte_is_settled() -> None:
    """The response never gets to start its body (sending the headers fails): the session
    is closed all the same, its budget hold settled and its upstream stream released."""
    settled: list[Usage] = []
    session = _upstream_session(settled)

    async def body() -> AsyncGenerator[bytes]:
        try:
            yield b"never sent"
        finally:
            await session.close(completed=False)

    async def receive() -> AsgiMessage:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: AsgiMessage) -> None:
        raise OSError("the client has gone")

    response = SessionStream(body(), partial(session.close, completed=False), {})
    scope = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "POST"}
    with pytest.raises(ClientDisconnect):
        await response(scope, receive, send)
    assert len(settled) == 1
