"""The request middleware on its own: the timeout until the first byte, in-flight accounting,
the request id, and the outcome record, around small ASGI apps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from router.config.settings import Config
from router.outcomes.log import OutcomeLog, Record
from service.middleware import RequestContext
from service.state import ServiceState


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[Record]] = []

    async def write(self, records: list[Record]) -> None:
        self.batches.append(records)

    async def aclose(self) -> None:
        return None


def state_for(config: Config, timeout_s: float) -> ServiceState:
    service = config.service.model_copy(update={"request_timeout_s": timeout_s})
    return ServiceState(config=config.model_copy(update={"service": service}))


async def call(app: RequestContext, path: str = "/v1/route") -> list[Message]:
    scope: Scope = {"type": "http", "path": path, "headers": [(b"x-request-id", b"req-1")]}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(3600)


async def slow_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(0.3)  # past the request timeout, but the answer has begun
    await send({"type": "http.response.body", "body": b"late", "more_body": False})


def status_of(sent: list[Message]) -> int:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1
    return int(starts[0]["status"])


def header(sent: list[Message], name: bytes) -> bytes | None:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return dict(start["headers"]).get(name)


async def test_no_first_byte_within_the_request_timeout_is_a_504(config: Config) -> None:
    state = state_for(config, 0.05)
    sent = await call(RequestContext(never_answers, state))
    assert status_of(sent) == 504
    assert b"request_timeout" in sent[-1]["body"]
    assert header(sent, b"x-request-id") == b"req-1"
    assert state.in_flight == 0


async def test_the_timeout_ends_at_the_first_byte(config: Config) -> None:
    state = state_for(config, 0.05)
    sent = await call(RequestContext(slow_after_start, state))
    assert status_of(sent) == 200
    assert sent[-1]["body"] == b"late"
    assert header(sent, b"x-request-id") == b"req-1"
    assert state.in_flight == 0


async def test_a_failing_app_still_leaves_in_flight_at_zero(config: Config) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    state = state_for(config, 5)
    with pytest.raises(RuntimeError):
        await call(RequestContext(broken, state))
    assert state.in_flight == 0


async def test_the_outcome_record_is_known_at_once_and_built_by_the_writer(
    config: Config,
) -> None:
    async def answers(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    state = state_for(config, 5)
    sink = ListSink()
    state.outcomes = OutcomeLog(sink, linger_s=0.01)
    state.outcomes.start()
    await call(RequestContext(answers, state))
    assert state.outcomes.knows("req-1")  # feedback may refer to it before it is written
    await state.outcomes.aclose()
    records: list[dict[str, Any]] = [r for batch in sink.batches for r in batch]
    assert [(r["request_id"], r["status"], r["endpoint"]) for r in records] == [
        ("req-1", 200, "/v1/route")
    ]
    assert records[0]["latency_ms"] >= 0
