"""SSE keep-alive while a stream waits for its first token.

A stream whose first token arrives within ``[api] sse_keepalive_s`` is answered as before: the
fallback chain runs before any byte is sent, so a failure keeps its HTTP status. A slower one
(reasoning models, long queues) starts at once with 200 and an SSE comment every interval, so
that proxies and load balancers do not cut the idle connection; a failure after that is an
in-band error event (the same one a failure mid-stream gives), never a silent end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextlib import aclosing
from functools import partial
from typing import Any

import anyio

from router.errors import RouterError
from router.execution import StreamSession
from router.types import ChatRequest
from service.context import Serving
from service.relay import SessionStream
from service.replies import info_headers, semroute_info

KEEPALIVE = b": keep-alive\n\n"

Opening = asyncio.Task[StreamSession]


async def open_stream(
    start: Coroutine[Any, Any, StreamSession], interval: float
) -> StreamSession | Opening:
    """The session if it opens within ``interval`` seconds (0: however long it takes), else
    the task still opening it. Raises: what opening raises, within the interval."""
    if interval <= 0:
        return await start
    task = asyncio.ensure_future(start)
    try:
        done, _ = await asyncio.wait({task}, timeout=interval)
    except BaseException:  # cancelled (client gone, request timeout): nothing may leak
        await discard(task)
        raise
    return task.result() if done else task


async def discard(task: Opening) -> None:
    """Cancel an opening stream; if it had opened, close it (the budget is settled)."""
    task.cancel()
    with anyio.CancelScope(shield=True):
        try:
            session = await task
        except BaseException:
            return
        await session.close(completed=False)


async def pending(
    task: Opening,
    interval: float,
    render: Callable[[StreamSession], AsyncGenerator[bytes]],
    fail: Callable[[RouterError], bytes],
) -> AsyncGenerator[bytes]:
    """Keep-alive comments until the stream opens, then ``render`` it; ``fail`` renders an
    error raised while opening. Closed early (the client gone), it closes the session however
    far opening got, and the rendered body with it."""
    session: StreamSession | None = None
    try:
        while not task.done():
            yield KEEPALIVE
            await asyncio.wait({task}, timeout=interval)
        try:
            session = task.result()
        except RouterError as exc:
            yield fail(exc)
            return
    finally:
        if session is None:  # the task may have opened it while a comment was out
            await discard(task)
    async with aclosing(render(session)) as pieces:
        async for piece in pieces:
            yield piece


async def stream_response(
    serving: Serving,
    request: ChatRequest,
    body: Callable[[StreamSession], AsyncGenerator[bytes]],
    error_event: Callable[[RouterError], bytes],
) -> SessionStream:
    """The streamed answer to ``request`` in one API's events (``body``; ``error_event`` for a
    failure once a keep-alive has started the response). Fast first token: the decision
    headers, and an error before it keeps its HTTP status (raised here).

    Raises: as ``Router.stream``, when the stream fails within ``[api] sse_keepalive_s``.
    """
    observation = serving.observation
    interval = serving.engine.config.api.sse_keepalive_s

    def render(session: StreamSession) -> AsyncGenerator[bytes]:
        observation.decided(session.answer.decision)
        return body(session)

    def fail(exc: RouterError) -> bytes:
        observation.failed(exc)
        return error_event(exc)

    opened = await open_stream(serving.engine.stream(request), interval)
    if isinstance(opened, StreamSession):
        headers = info_headers(semroute_info(opened.answer))
        return SessionStream(render(opened), partial(opened.close, completed=False), headers)
    # The first token is slow: start now, keep the connection alive (decision headers unknown).
    return SessionStream(pending(opened, interval, render, fail), partial(discard, opened), {})
