"""Relaying an open stream to the client, the same way on both APIs.

Retries and fallback happen only before the first byte. A failure after it ends the body with
an in-band error (``failed``) and without the closing events (``end``), so a client never
mistakes a cut stream for a finished answer. The session is closed however the body ends —
finished, failed, or the client gone — which settles the budget and records the answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from router.errors import ProviderError
from router.execution import StreamSession
from router.types import Chunk, Usage
from service.observe import Observation

log = logging.getLogger("semroute.service")


async def relay(
    session: StreamSession,
    observation: Observation,
    *,
    pieces: Callable[[Chunk], Sequence[bytes]],
    failed: Callable[[ProviderError], bytes],
    end: Callable[[Usage], Sequence[bytes]],
    head: Sequence[bytes] = (),
) -> AsyncGenerator[bytes]:
    """``head``, then each chunk's ``pieces`` (the first of them is the time to first byte),
    then ``end`` with the stream's usage; ``failed`` renders an upstream error mid-stream."""
    completed = first = False
    try:
        for piece in head:
            yield piece
        async for chunk in session.chunks():
            for piece in pieces(chunk):
                if not first:
                    first = True
                    observation.first_byte()
                yield piece
        completed = True
    except ProviderError as exc:
        log.warning(
            "stream from %s failed after the first byte: %s", session.answer.provider, exc.code
        )
        observation.failed(exc)
        yield failed(exc)
        return
    except Exception:  # a bug: the response cannot say so any more, the metric still does
        observation.crashed()
        raise
    finally:
        await session.close(completed=completed)
        observation.answered(session.answer)
    for piece in end(session.usage):
        yield piece


class SessionStream(StreamingResponse):
    """An SSE response that finishes its stream however the response ends: ``closing`` runs
    even when the body never started (the client gone before the first byte), where the
    body's own ``finally`` cannot. It must be idempotent: the body has usually closed first."""

    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncGenerator[bytes],
        closing: Callable[[], Awaitable[None]],
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(body, headers={"cache-control": "no-cache", **headers})
        self._closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._closing()
