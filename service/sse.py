"""Server-sent events for streamed chat completions.

Streaming contract: retries and fallback happen only before the first byte reaches the client.
A failure after that ends the stream with an in-band ``{"error": …}`` event and **no**
``[DONE]``, so a client never mistakes a cut stream for a finished answer.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from router.errors import ProviderError, RouterError
from router.execution import StreamSession
from router.types import Chunk
from service.errors import error_body, status_for
from service.observe import Observation
from service.replies import usage_json

log = logging.getLogger("semroute.service")


def _chunk(chunk: Chunk, stream_id: str, created: int, model: str) -> dict[str, Any]:
    choice = {**chunk.choice_extra, "index": 0, "delta": dict(chunk.delta)}
    choice["finish_reason"] = chunk.finish_reason
    choices = [choice]
    return {
        "id": stream_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def error_event(exc: RouterError, prefix: str = "") -> bytes:
    """The in-band error that ends a stream which can no longer change its HTTP status."""
    status = status_for(exc)
    err = error_body(status, f"{prefix}{exc.message}", exc.code)
    err["error"]["status"] = status
    return _event(err)


async def sse(
    session: StreamSession, observation: Observation, *, include_usage: bool
) -> AsyncGenerator[bytes]:
    model = session.answer.model
    stream_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    completed = first = False
    try:
        async for chunk in session.chunks():
            if chunk.delta or chunk.finish_reason or chunk.choice_extra:
                if not first:
                    first = True
                    observation.first_byte()
                yield _event(_chunk(chunk, stream_id, created, model))
        completed = True
    except ProviderError as exc:
        log.warning(
            "stream from %s failed after the first byte: %s", session.answer.provider, exc.code
        )
        observation.failed(exc)
        yield error_event(exc, "upstream stream failed: ")
        return
    finally:
        await session.close(completed=completed)
        observation.answered(session.answer)
    if include_usage:
        usage = session.usage
        payload = _chunk(Chunk(delta={}), stream_id, created, model)
        payload["choices"] = []
        payload["usage"] = usage_json(usage)
        yield _event(payload)
    yield b"data: [DONE]\n\n"
