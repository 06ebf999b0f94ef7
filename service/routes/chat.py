"""POST /v1/chat/completions: OpenAI-compatible, streaming as SSE.

Streaming contract: retries and fallback happen only before the first byte reaches the client.
A failure after that ends the stream with an in-band ``{"error": …}`` event and **no**
``[DONE]``, so a client never mistakes a cut stream for a finished answer.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from router.answering import Answer
from router.core import Router
from router.errors import ProviderError
from router.streaming import StreamSession
from router.types import Chunk, Completion
from service.context import Caller, get_caller
from service.errors import error_body, status_for
from service.schemas import (
    AttemptOut,
    ChatCompletionBody,
    ChatCompletionResponse,
    ChoiceOut,
    ErrorBody,
    SemrouteInfo,
    UsageOut,
)
from service.state import get_router

log = logging.getLogger("semroute.service")
router = APIRouter(tags=["chat"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat.completion, or with stream=true an SSE stream of chunks",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    400: {"model": ErrorBody, "description": "Invalid request, content policy, no candidate"},
    404: {"model": ErrorBody, "description": "Unknown model or task"},
    413: {"model": ErrorBody, "description": "Body too large"},
    429: {"model": ErrorBody, "description": "Rate limited or budget exhausted"},
    502: {"model": ErrorBody, "description": "Upstream misbehaved"},
    503: {"model": ErrorBody, "description": "Every candidate failed, or not ready"},
    504: {"model": ErrorBody, "description": "Upstream timed out"},
}


def _info(answer: Answer[Completion]) -> SemrouteInfo:
    d = answer.decision
    return SemrouteInfo(
        task=d.match.task if d.match else None,
        confident=d.match.confident if d.match else None,
        route=d.route,
        model=answer.model,
        provider=answer.provider,
        model_tier=answer.model_tier,
        attempts=[AttemptOut(**asdict(a)) for a in answer.attempts],
        cache="hit" if answer.cached else "miss",
        cache_similarity=d.cache.similarity if d.cache else None,
        budget_tier=d.budget_tier.value,
        budget_remaining=d.budget_remaining,
        centroid_version=d.centroid_version,
    )


def _headers(info: SemrouteInfo) -> dict[str, str]:
    return {
        "x-semroute-task": info.task or info.route,
        "x-semroute-model": info.model,
        "x-semroute-provider": info.provider,
        "x-semroute-attempts": str(len(info.attempts)),
        "x-semroute-cache": info.cache,
        "x-semroute-tier": info.budget_tier,
    }


def _completion_body(answer: Answer[Completion], info: SemrouteInfo) -> ChatCompletionResponse:
    c = answer.result
    return ChatCompletionResponse(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=c.created or int(time.time()),
        model=info.model,
        choices=[ChoiceOut(message=dict(c.message), finish_reason=c.finish_reason)],
        usage=UsageOut(
            prompt_tokens=c.usage.prompt_tokens,
            completion_tokens=c.usage.completion_tokens,
            total_tokens=c.usage.total_tokens,
        ),
        semroute=info,
    )


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletionResponse,
    responses=_RESPONSES,
    summary="OpenAI-compatible chat completions, routed",
)
async def chat_completions(
    body: ChatCompletionBody,
    engine: Annotated[Router, Depends(get_router)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> Any:
    """Route the request (``model``: ``auto``, ``auto:<task>`` or a catalogue model) and
    execute it through the fallback chain."""
    request = caller.apply(body.to_request())
    if body.stream:
        session = await engine.stream(request)
        info = _info(session.answer)
        return StreamingResponse(
            _sse(session, info, include_usage=body.include_usage),
            media_type="text/event-stream",
            headers={**_headers(info), "cache-control": "no-cache"},
        )
    answer = await engine.complete(request)
    info = _info(answer)
    return JSONResponse(
        _completion_body(answer, info).model_dump(mode="json"), headers=_headers(info)
    )


def _chunk_json(chunk: Chunk, stream_id: str, created: int, model: str) -> dict[str, Any]:
    choices = [{"index": 0, "delta": dict(chunk.delta), "finish_reason": chunk.finish_reason}]
    return {
        "id": stream_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


async def _sse(
    session: StreamSession, info: SemrouteInfo, *, include_usage: bool
) -> AsyncIterator[bytes]:
    stream_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    completed = False
    try:
        async for chunk in session.chunks():
            if chunk.delta or chunk.finish_reason:
                yield _event(_chunk_json(chunk, stream_id, created, info.model))
        completed = True
    except ProviderError as exc:
        log.warning("stream from %s failed after the first byte: %s", info.provider, exc.code)
        status, type_ = status_for(exc)
        err = error_body(f"upstream stream failed: {exc.message}", type_, exc.code)
        err["error"]["status"] = status
        yield _event(err)
        return
    finally:
        await session.close(completed=completed)
    if include_usage:
        usage = session.usage
        yield _event(
            {
                "id": stream_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": info.model,
                "choices": [],
                "usage": {**asdict(usage), "total_tokens": usage.total_tokens},
            }
        )
    yield b"data: [DONE]\n\n"
