"""POST /v1/route: the routing decision without executing anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from router.core import Router
from service.context import Caller, get_caller
from service.schemas import ErrorBody, RouteBody, RouteResponse
from service.state import get_router

router = APIRouter(tags=["routing"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Malformed request, or no model can serve it"},
    404: {"model": ErrorBody, "description": "Unknown model or task"},
    413: {"model": ErrorBody, "description": "Body too large"},
    503: {"model": ErrorBody, "description": "Not ready"},
}


@router.post("/v1/route", response_model=RouteResponse, responses=_ERRORS)
async def route(
    body: RouteBody,
    engine: Annotated[Router, Depends(get_router)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> RouteResponse:
    """Classify the request and rank the models that should answer it."""
    decision = await engine.route(caller.apply(body.to_request()))
    return RouteResponse.from_decision(decision)
