"""Every response is counted in ``semroute_requests_total`` once, with its status (``ok`` or the
error code): upstream failures (5xx), streams that fail after their first byte (counted by the
error, never also as ``ok``), bugs (``internal_error``), the request timeout and the refusals
the middleware answers itself, a /v1/messages reply that cannot be built from its answer (by
its error, never also as ``ok``), and /v1/route decisions (``ok``). Scraped from /metrics as
Prometheus reads it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send

from router.config.settings import Config
from router.errors import ProviderUnavailable
from router.execution import StreamSession, StreamStart, completion_stub
from router.metrics import Metrics
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
)
from service.app import create_app
from service.middleware import RequestContext
from service.observe import Observation
from service.record import RequestRecord
from service.relay import relay
from service.routes import route
from service.state import ServiceState
from tests.service.api_stack import ApiStack, api_stack
from tests.serving import serve

Counts = dict[tuple[str, str], float]


def counts(text: str) -> Counts:
    """(endpoint, status) → requests, from a /metrics text."""
    out: Counts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "semroute_requests_total":
                key = (sample.labels["endpoint"], sample.labels["status"])
                out[key] = out.get(key, 0) + sample.value
    return out


def scraped(stack: ApiStack) -> Counts:
    return counts(httpx.get(stack.url + "/metrics").text)


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir) as s:
        yield s


ASK = [{"role": "user", "content": "hi how are you"}]
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"


def test_every_upstream_failing_is_counted_as_a_5xx_on_both_apis(stack: ApiStack) -> None:
    for upstream in (stack.primary, stack.secondary, stack.third):
        upstream.always("503")
    with pytest.raises(openai.InternalServerError) as chat:
        stack.openai().chat.completions.create(model="auto", messages=ASK)  # type: ignore[arg-type]
    with pytest.raises(anthropic.InternalServerError) as messages:
        stack.anthropic().messages.create(model="auto", max_tokens=5, messages=ASK)  # type: ignore[arg-type]
    assert chat.value.status_code == messages.value.status_code == 503
    got = scraped(stack)
    assert got[(CHAT, "all_candidates_failed")] == 1, got
    assert got[(MESSAGES, "all_candidates_failed")] == 1, got
    assert (CHAT, "ok") not in got and (MESSAGES, "ok") not in got, got


@pytest.mark.parametrize("fault", ["error_in_stream", "reset_mid_stream", "truncated_stream"])
def test_a_chat_stream_failing_after_its_first_byte_is_counted_once_by_its_error(
    stack: ApiStack, fault: str
) -> None:
    stack.primary.script(fault)
    stream = stack.openai().chat.completions.create(model="alpha", messages=ASK, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    got = scraped(stack)
    assert got == {(CHAT, "provider_unavailable"): 1}, got  # not also "ok"


@pytest.mark.parametrize("fault", ["error_in_stream", "reset_mid_stream"])
def test_a_messages_stream_failing_after_its_first_byte_is_counted_once_by_its_error(
    stack: ApiStack, fault: str
) -> None:
    stack.primary.script(fault)
    with (
        pytest.raises(anthropic.APIStatusError),
        stack.anthropic().messages.stream(model="alpha", max_tokens=16, messages=ASK) as stream,  # type: ignore[arg-type]
    ):
        stream.get_final_message()
    got = scraped(stack)
    assert got == {(MESSAGES, "provider_unavailable"): 1}, got


def test_a_stream_that_finishes_is_counted_ok_once(stack: ApiStack) -> None:
    stream = stack.openai().chat.completions.create(model="alpha", messages=ASK, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert scraped(stack) == {(CHAT, "ok"): 1}


# -- a /v1/messages reply that cannot be built, and /v1/route decisions -----------------------


async def _cut_off_tool_call(request: Request) -> JSONResponse:
    """An OpenAI-wire upstream whose model stopped at max_tokens inside a tool call's
    arguments: a 200 whose ``arguments`` are not JSON."""
    body = await request.json()
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Par'},
    }
    return JSONResponse(
        {
            "id": "chatcmpl-cut",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "alpha-upstream"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
        }
    )


WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _samples(text: str, name: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    )


def test_a_message_whose_tool_call_arguments_are_not_json_is_counted_once_by_its_error(
    centroid_dir: Path,
) -> None:
    cut = Starlette(routes=[Route("/v1/chat/completions", _cut_off_tool_call, methods=["POST"])])
    with serve(cut) as upstream:

        def to_cut(raw: dict[str, Any]) -> None:
            raw["providers"]["primary"]["base_url"] = upstream + "/v1"

        with api_stack(centroid_dir, to_cut) as s:
            with pytest.raises(anthropic.APIStatusError) as failed:
                s.anthropic().messages.create(
                    model="alpha",
                    max_tokens=5,
                    tools=[WEATHER],  # type: ignore[list-item]
                    messages=[{"role": "user", "content": "call the tool for Paris"}],
                )
            text = httpx.get(s.url + "/metrics").text
    assert failed.value.status_code == 502, failed.value
    assert counts(text) == {(MESSAGES, "bad_response"): 1}, counts(text)  # not also "ok"
    assert _samples(text, "semroute_tokens_total") == 12  # the upstream's usage, still recorded
    assert _samples(text, "semroute_cost_usd_total") > 0


ROUTE = "/v1/route"


def _route_labels(text: str) -> dict[tuple[str, str, str, str], float]:
    out: dict[tuple[str, str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "semroute_requests_total" and sample.labels["endpoint"] == ROUTE:
                labels = sample.labels
                key = (labels["task"], labels["model"], labels["provider"], labels["status"])
                out[key] = out.get(key, 0) + sample.value
    return out


def test_route_decisions_are_counted_ok_once_each(stack: ApiStack) -> None:
    for _ in range(3):
        assert httpx.post(stack.url + ROUTE, json={"input": "hi how are you"}).status_code == 200
    assert httpx.post(stack.url + ROUTE, json={"model": "beta", "input": "hi"}).status_code == 200
    text = httpx.get(stack.url + "/metrics").text
    assert counts(text) == {(ROUTE, "ok"): 4}, counts(text)
    assert _route_labels(text) == {
        ("chat", "alpha", "primary", "ok"): 3,
        ("-", "beta", "secondary", "ok"): 1,
    }


def test_route_decisions_are_counted_once_by_the_fastapi_route_too(stack: ApiStack) -> None:
    """Without service/direct.py in front, the FastAPI route answers /v1/route: counted the
    same, once."""
    app = create_app(stack.config, stack.router)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not route.direct]
    with serve(app) as url:
        for _ in range(2):
            assert httpx.post(url + ROUTE, json={"input": "hi how are you"}).status_code == 200
        assert counts(httpx.get(url + "/metrics").text) == {(ROUTE, "ok"): 2}


# -- a bug in a stream past its first byte (the relay), without any HTTP around it ------------


def _session(rest: AsyncIterator[Chunk]) -> StreamSession:
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
    start = StreamStart(head=(Chunk(delta={"content": "Hello"}),), rest=rest)
    return StreamSession(request, answer, start)


async def _relayed(rest: AsyncIterator[Chunk], metrics: Metrics) -> list[bytes]:
    observation = Observation(RequestRecord("r1", CHAT), metrics)
    body = relay(
        _session(rest),
        observation,
        pieces=lambda chunk: [str(chunk.delta.get("content")).encode()],
        failed=lambda exc: b"error:" + exc.code.encode(),
        end=lambda usage: [b"done"],
    )
    return [piece async for piece in body]


async def test_a_bug_mid_stream_is_counted_as_an_internal_error_not_ok() -> None:
    async def broken() -> AsyncIterator[Chunk]:
        yield Chunk(delta={"content": " there"})
        raise RuntimeError("a bug")

    metrics = Metrics()
    with pytest.raises(RuntimeError):
        await _relayed(broken(), metrics)
    assert counts(generate_latest(metrics.registry).decode()) == {(CHAT, "internal_error"): 1}


async def test_an_upstream_failure_mid_stream_is_counted_once_by_its_code() -> None:
    async def cut() -> AsyncIterator[Chunk]:
        yield Chunk(delta={"content": " there"})
        raise ProviderUnavailable("reset", provider="primary", model="alpha")

    metrics = Metrics()
    assert (await _relayed(cut(), metrics))[-1] == b"error:provider_unavailable"
    assert counts(generate_latest(metrics.registry).decode()) == {(CHAT, "provider_unavailable"): 1}


# -- what the request middleware answers or sees without a RouterError ------------------------


def _state(config: Config, timeout_s: float = 5) -> ServiceState:
    service = config.service.model_copy(update={"request_timeout_s": timeout_s})
    return ServiceState(config=config.model_copy(update={"service": service}))


async def _call(app: RequestContext, path: str = CHAT) -> list[AsgiMessage]:
    scope: Scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    sent: list[AsgiMessage] = []

    async def receive() -> AsgiMessage:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: AsgiMessage) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _answers(status: int) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def _metric(state: ServiceState) -> Counts:
    return counts(generate_latest(state.metrics.registry).decode())


@pytest.mark.parametrize(
    ("status", "code"), [(500, "internal_error"), (502, "http_502"), (404, "not_found")]
)
async def test_an_error_status_without_a_router_error_is_counted(
    config: Config, status: int, code: str
) -> None:
    state = _state(config)
    await _call(RequestContext(_answers(status), state))
    assert _metric(state) == {(CHAT, code): 1}


async def test_an_exception_no_handler_answered_is_an_internal_error(config: Config) -> None:
    async def before(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def after(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("boom")

    state = _state(config)
    for app in (before, after):
        with pytest.raises(RuntimeError):
            await _call(RequestContext(app, state))
    assert _metric(state) == {(CHAT, "internal_error"): 2}


async def test_the_request_timeout_is_counted(config: Config) -> None:
    async def never(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(3600)

    state = _state(config, 0.05)
    await _call(RequestContext(never, state))
    assert _metric(state) == {(CHAT, "request_timeout"): 1}


async def test_draining_is_counted_and_readiness_probes_are_not(config: Config) -> None:
    state = _state(config)
    await _call(RequestContext(_answers(503), state), "/readyz")  # still loading: an answer
    state.draining = True
    await _call(RequestContext(_answers(200), state))
    assert _metric(state) == {(CHAT, "shutting_down"): 1}
