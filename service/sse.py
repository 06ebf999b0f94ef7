"""Server-sent events for streamed chat completions.

Streaming contract (``relay``): retries and fallback happen only before the first byte reaches
the client. A failure after that ends the stream with an in-band ``{"error": …}`` event and
**no** ``[DONE]``, so a client never mistakes a cut stream for a finished answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from router.errors import ProviderError, RouterError
from router.execution import StreamSession
from router.types import Chunk, Usage
from service.errors import error_body, scrub, status_for
from service.observe import Observation
from service.relay import relay
from service.replies import usage_json


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


_DONE = b"data: [DONE]\n\n"


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def error_event(exc: RouterError, prefix: str = "") -> bytes:
    """The in-band error that ends a stream which can no longer change its HTTP status."""
    status = status_for(exc)
    err = error_body(status, f"{prefix}{scrub(exc.message)}", exc.code)
    err["error"]["status"] = status
    return _event(err)


def sse(
    session: StreamSession, observation: Observation, *, include_usage: bool
) -> AsyncGenerator[bytes]:
    """The SSE body of a streamed chat completion; settles the session however it ends."""
    model = session.answer.model
    stream_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def pieces(chunk: Chunk) -> list[bytes]:
        if not (chunk.delta or chunk.finish_reason or chunk.choice_extra):
            return []
        return [_event(_chunk(chunk, stream_id, created, model))]

    def end(usage: Usage) -> list[bytes]:
        if not include_usage:
            return [_DONE]
        payload = _chunk(Chunk(delta={}), stream_id, created, model)
        payload["choices"] = []
        payload["usage"] = usage_json(usage)
        return [_event(payload), _DONE]

    def failed(exc: ProviderError) -> bytes:
        return error_event(exc, "upstream stream failed: ")

    return relay(session, observation, pieces=pieces, failed=failed, end=end)
