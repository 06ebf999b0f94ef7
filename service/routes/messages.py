"""POST /v1/messages: the Anthropic Messages API in front of the same routing, cache, budget
and fallback as /v1/chat/completions; the answer may come from either wire protocol."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from router.errors import RouterError
from router.execution import StreamSession
from router.tokens import estimate_prompt_tokens
from router.types import ChatRequest
from service.context import Serving, get_serving
from service.keepalive import stream_response
from service.limits import check_request_limits
from service.messages_schemas import CountTokensBody, MessagesBody
from service.messages_sse import error_event, message_events
from service.messages_wire import message_body, to_request
from service.replies import info_headers, semroute_info

router = APIRouter(tags=["anthropic"])
_ERROR = {
    "description": 'Anthropic-style: {"type": "error", "error": {"type": …, "message": …}}',
    "content": {"application/json": {}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A message, or with stream=true Anthropic SSE events",
        "content": {"text/event-stream": {}},
    },
    **{status: _ERROR for status in (400, 401, 403, 404, 413, 429, 502, 503, 504)},
}


@router.post(
    "/v1/messages",
    responses=_RESPONSES,
    summary="Anthropic-compatible Messages API, routed",
)
async def messages(body: MessagesBody, serving: Annotated[Serving, Depends(get_serving)]) -> Any:
    """Route the request (``model``: ``auto``, ``auto:<task>`` or a catalogue model) and
    execute it through the fallback chain; errors are Anthropic-style."""
    engine, observation = serving.engine, serving.observation
    request = serving.caller.apply(to_request(body))
    check_request_limits(request, engine.config.service)
    observation.caller(serving.caller.tenant, request.messages[-1].text())
    if body.stream:
        return await _stream(serving, request)
    answer = await engine.complete(request)
    observation.decided(answer.decision)
    info = semroute_info(answer)
    try:
        reply = message_body(answer.result, answer.model, info)
    except RouterError as exc:  # e.g. tool-call arguments that are not JSON (cut off)
        observation.failed(exc)  # counted once, by its code; the answer's usage and cost too
        observation.answered(answer)
        raise
    observation.answered(answer)
    return JSONResponse(reply, headers=info_headers(info))


@router.post(
    "/v1/messages/count_tokens",
    responses={status: _ERROR for status in (400, 401, 403, 413)},
    summary="Anthropic-compatible token count (an estimate: about four characters a token)",
)
async def count_tokens(
    body: CountTokensBody, serving: Annotated[Serving, Depends(get_serving)]
) -> Any:
    """The prompt's size as semroute estimates it for selection and budgeting (no tokenizer:
    an upstream's own count differs by model)."""
    request = serving.caller.apply(to_request(body))
    return JSONResponse({"input_tokens": estimate_prompt_tokens(request.messages)})


async def _stream(serving: Serving, request: ChatRequest) -> Any:
    def body(session: StreamSession) -> AsyncGenerator[bytes]:
        return message_events(session, serving.observation)

    return await stream_response(serving, request, body, error_event)
