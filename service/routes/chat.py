"""POST /v1/chat/completions: OpenAI-compatible; ``stream: true`` is served as SSE (sse.py)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from router.answering import Answer
from router.core import Router
from router.types import Completion
from service.context import Caller, get_caller
from service.limits import check_limits
from service.observe import Observation
from service.schemas import (
    AttemptOut,
    ChatCompletionBody,
    ChatCompletionResponse,
    ChoiceOut,
    ErrorBody,
    SemrouteInfo,
    UsageOut,
    sse_event_schema,
)
from service.sse import sse
from service.state import get_observation, get_router

log = logging.getLogger("semroute.service")
router = APIRouter(tags=["chat"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat.completion, or with stream=true an SSE stream of chunks",
        "content": {"text/event-stream": {"schema": sse_event_schema()}},
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
    observation: Annotated[Observation, Depends(get_observation)],
) -> Any:
    """Route the request (``model``: ``auto``, ``auto:<task>`` or a catalogue model) and
    execute it through the fallback chain."""
    check_limits(body, engine.config.service)
    request = caller.apply(body.to_request())
    observation.caller(caller.tenant, request.messages[-1].text())
    if body.stream:
        session = await engine.stream(request)
        observation.decided(session.answer.decision)
        info = _info(session.answer)
        return StreamingResponse(
            sse(session, observation, include_usage=body.include_usage),
            media_type="text/event-stream",
            headers={**_headers(info), "cache-control": "no-cache"},
        )
    answer = await engine.complete(request)
    observation.decided(answer.decision)
    observation.answered(answer, answer.result.usage)
    info = _info(answer)
    return JSONResponse(
        _completion_body(answer, info).model_dump(mode="json"), headers=_headers(info)
    )
