"""POST /v1/route: the routing decision without executing anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from service.context import Serving, get_serving
from service.limits import check_limits
from service.route_schemas import RouteResponse
from service.schemas import ErrorBody, RouteBody

router = APIRouter(tags=["routing"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Malformed request, or no model can serve it"},
    404: {"model": ErrorBody, "description": "Unknown model or task"},
    413: {"model": ErrorBody, "description": "Body too large"},
    503: {"model": ErrorBody, "description": "Not ready"},
}


@router.post("/v1/route", response_model=RouteResponse, responses=_ERRORS)
async def route(
    body: RouteBody, serving: Annotated[Serving, Depends(get_serving)]
) -> RouteResponse:
    """Classify the request and rank the models that should answer it."""
    engine, observation = serving.engine, serving.observation
    check_limits(body, engine.config.service)
    request = serving.caller.apply(body.to_request())
    observation.caller(serving.caller.tenant, request.messages[-1].text())
    decision = await engine.route(request)
    observation.decided(decision)
    return RouteResponse.from_decision(decision)
