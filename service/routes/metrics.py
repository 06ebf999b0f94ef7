"""GET /metrics: the Prometheus exposition of router/metrics.py's collectors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.observe import refresh_gauges
from service.state import ServiceState, state_dep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: Annotated[ServiceState, Depends(state_dep)]) -> Response:
    if state.router is not None:
        await refresh_gauges(state.metrics, state.router)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
