"""POST /v1/chat/completions: OpenAI-compatible; ``stream: true`` is served as SSE (sse.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import ASGIApp

from router.execution import StreamSession
from router.types import ChatRequest
from service.context import Serving, get_serving, serving_of
from service.direct import DirectEndpoint
from service.keepalive import stream_response
from service.limits import check_limits
from service.replies import completion_body, info_headers, semroute_info
from service.schemas import (
    ChatCompletionBody,
    ChatCompletionResponse,
    ErrorBody,
    sse_event_schema,
)
from service.sse import error_event, sse
from service.state import ServiceState

router = APIRouter(tags=["chat"])

PATH = "/v1/chat/completions"

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


@router.post(
    PATH,
    response_model=ChatCompletionResponse,
    responses=_RESPONSES,
    summary="OpenAI-compatible chat completions, routed",
)
async def chat_completions(
    body: ChatCompletionBody, serving: Annotated[Serving, Depends(get_serving)]
) -> Any:
    """Route the request (``model``: ``auto``, ``auto:<task>`` or a catalogue model) and
    execute it through the fallback chain."""
    return await _complete(body, serving)


def direct(app: ASGIApp, state: ServiceState) -> DirectEndpoint:
    """``chat_completions`` served by service/direct.py (without FastAPI's per-request
    machinery): the same steps, the caller read from the headers."""
    return DirectEndpoint(
        app, state, PATH, ChatCompletionBody, partial(serving_of, state), _complete
    )


async def _complete(body: ChatCompletionBody, serving: Serving) -> Response:
    engine, observation = serving.engine, serving.observation
    check_limits(body, engine.config.service)
    request = serving.caller.apply(body.to_request())
    observation.caller(serving.caller.tenant, request.messages[-1].text())
    if body.stream:
        return await _stream(serving, request, include_usage=body.include_usage)
    answer = await engine.complete(request)
    observation.decided(answer.decision)
    observation.answered(answer)
    info = semroute_info(answer)
    return JSONResponse(completion_body(answer, info), headers=info_headers(info))


async def _stream(serving: Serving, request: ChatRequest, *, include_usage: bool) -> Response:
    def body(session: StreamSession) -> AsyncGenerator[bytes]:
        return sse(session, serving.observation, include_usage=include_usage)

    return await stream_response(serving, request, body, error_event)
