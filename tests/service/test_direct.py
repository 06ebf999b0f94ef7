"""service/direct.py: a hot-path endpoint served without FastAPI answers exactly what the
FastAPI route would — the same statuses and error bodies for every kind of bad input."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from router.config import load_config
from router.errors import Unauthenticated
from service.direct import DirectEndpoint
from service.errors import install_error_handlers
from service.observe import Observation
from service.schemas import ChatCompletionBody, RouteBody
from service.state import ServiceState

CONFIG = load_config()


class Echo(BaseModel):
    text: str


def _echo(body: RouteBody | ChatCompletionBody) -> Echo:
    if isinstance(body, RouteBody):
        return Echo(text=body.input or "")
    return Echo(text=body.messages[-1].to_message().text())


def fastapi_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.semroute = ServiceState(config=CONFIG)

    @app.post("/v1/route")
    async def route(body: RouteBody) -> Echo:
        return _echo(body)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionBody) -> Echo:
        return _echo(body)

    return app


async def _nothing_else(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the direct endpoint: only the lifespan may reach it."""
    assert scope["type"] == "lifespan", f"{scope.get('path')} should have been served directly"
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


def direct_app(refuse: bool = False) -> DirectEndpoint:
    async def prepare(headers: Mapping[str, str], observation: Observation) -> None:
        if refuse:
            raise Unauthenticated("missing API key")

    async def handler(body: RouteBody | ChatCompletionBody, context: None) -> Echo:
        return _echo(body)

    state = ServiceState(config=CONFIG)
    chat = DirectEndpoint(
        _nothing_else, state, "/v1/chat/completions", ChatCompletionBody, prepare, handler
    )
    return DirectEndpoint(chat, state, "/v1/route", RouteBody, prepare, handler)


JSON = "application/json"
BODIES: list[tuple[bytes, str | None]] = [
    (b"", JSON),
    (b'{"input": "hi"}', None),
    (b'{"input": "hi"}', "text/plain"),
    (b'{"input": "hi"}', "application/json; charset=utf-8"),
    (b'{"input": "hi"}', "application/vnd.api+json"),
    (b'{"input": ', JSON),
    (b'{"input": "\xff\xfe"}', JSON),
    (b"[1, 2]", JSON),
    (b'"hello"', JSON),
    (b"null", JSON),
    (b'{"input": 5}', JSON),
    (b'{"input": "a", "messages": [{"role": "user", "content": "b"}]}', JSON),
    (b"{}", JSON),
    (b'{"input": "\\ud800 x"}', JSON),
    (b'{"input": "hi", "priority": "fastest"}', JSON),
    (b'{"messages": [{"role": "robot", "content": "b"}]}', JSON),
    (b'{"messages": []}', JSON),
    (b'{"input": "hi", "tools": [{"type": "function"}]}', JSON),
    (b'{"input": "hi", "max_tokens": "ten"}', JSON),
    (b'{"input": "hi", "temperature": NaN}', JSON),
    (b'{"input": "hi", "tool_choice": "auto"}', JSON),
    (b"[" * 100_000 + b"]" * 100_000, JSON),
    (b'{"input": "route me"}', JSON),
]
_CALLED = (
    b'{"role": "user", "content": "weather?"}, {"role": "assistant", "tool_calls": [{"id": "c1",'
    b' "type": "function", "function": {"name": "f", "arguments": "%s"}}]}'
)
BAD_ARGS = _CALLED % b"{not json"


CHAT_BODIES: list[tuple[bytes, str | None]] = [
    (b'{"messages": [{"role": "user", "content": "hi"}]}', JSON),
    (b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}', JSON),
    (b'{"messages": [{"role": "user", "content": [{"type": "video"}]}]}', JSON),
    (b'{"messages": [{"role": "user", "content": "hi"}], "n": 2}', JSON),
    (b'{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', JSON),
    (b'{"messages": [{"role": "user"}]}', JSON),
    (b'{"messages": "hi"}', JSON),
    (b'{"input": "hi"}', JSON),
    (b'{"messages": [{"role": "user", "content": "hi"}], "tool_choice": 5}', JSON),
    (b'{"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}', JSON),
    (b'{"messages": [%s, {"role": "user", "content": "hi"}]}' % (_CALLED % b"{}"), JSON),
    (
        b'{"messages": [%s, {"role": "tool", "tool_call_id": "c1", "content": "x"}]}' % BAD_ARGS,
        JSON,
    ),
    (b'{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]}', JSON),
]
CASES = [("/v1/route", *b) for b in BODIES] + [("/v1/chat/completions", *b) for b in CHAT_BODIES]


@pytest.mark.parametrize(("path", "raw", "content_type"), CASES)
def test_the_direct_endpoint_answers_what_fastapi_answers(
    path: str, raw: bytes, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with TestClient(fastapi_app()) as reference, TestClient(direct_app()) as direct:
        want = reference.post(path, content=raw, headers=headers)
        got = direct.post(path, content=raw, headers=headers)
    assert (got.status_code, got.json()) == (want.status_code, want.json())
    assert got.headers["content-type"] == "application/json"


def test_who_is_asking_is_settled_before_the_body_is_read() -> None:
    with TestClient(direct_app(refuse=True)) as client:
        answer = client.post("/v1/route", content=b"not json", headers={"content-type": JSON})
    assert answer.status_code == 401  # as FastAPI's dependencies run before body validation
    assert answer.json()["error"]["type"] == "authentication_error"
