"""POST /v1/route: the routing decision without executing anything.

Served by ``_decide`` through service/direct.py (the hot path, without FastAPI's per-request
machinery); the FastAPI route below documents it and serves it where that is not mounted."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.types import ASGIApp

from service.context import Serving, get_serving, serving_of
from service.direct import DirectEndpoint
from service.limits import check_limits
from service.route_schemas import RouteResponse
from service.schemas import ErrorBody, RouteBody
from service.state import ServiceState

router = APIRouter(tags=["routing"])

PATH = "/v1/route"

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Malformed request, or no model can serve it"},
    404: {"model": ErrorBody, "description": "Unknown model or task"},
    413: {"model": ErrorBody, "description": "Body too large"},
    503: {"model": ErrorBody, "description": "Not ready"},
}


@router.post(PATH, response_model=RouteResponse, responses=_ERRORS)
async def route(
    body: RouteBody, serving: Annotated[Serving, Depends(get_serving)]
) -> RouteResponse:
    """Classify the request and rank the models that should answer it."""
    return await _decide(body, serving)


async def _decide(body: RouteBody, serving: Serving) -> RouteResponse:
    engine, observation = serving.engine, serving.observation
    check_limits(body, engine.config.service)
    request = serving.caller.apply(body.to_request())
    observation.caller(serving.caller.tenant, request.messages[-1].text())
    decision = await engine.route(request)
    observation.decided(decision)
    observation.routed(decision)
    return RouteResponse.from_decision(decision)


def direct(app: ASGIApp, state: ServiceState) -> DirectEndpoint:
    """``route`` served by service/direct.py: the same steps, the caller read from the headers."""
    return DirectEndpoint(app, state, PATH, RouteBody, partial(serving_of, state), _decide)
