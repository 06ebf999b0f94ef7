"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from service.errors import error_body
from service.state import ServiceState, state_dep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: encoder and centroids loaded",
    responses={503: {"description": "Still loading, or loading failed"}},
)
async def readyz(state: Annotated[ServiceState, Depends(state_dep)]) -> Any:
    if state.draining:
        return JSONResponse(error_body(503, "shutting down", code="draining"), 503)
    if state.router is None:
        message = state.load_error or "starting: the encoder is loading"
        return JSONResponse(error_body(503, message, code="not_ready"), 503)
    stage = state.router.first_stage
    multilingual = state.router.classifier.multilingual
    return {
        "status": "ready",
        "centroid_version": state.router.centroids.version,
        "encoder": state.router.encoder.name,
        # The static first stage's centroids, or None: every request goes to the transformer.
        "cascade": None if stage is None else stage.centroids.version,
        # The multilingual stage's centroids, or None: the English encoders decide everything.
        "multilingual": None if multilingual is None else multilingual.centroids.version,
        # Its forward pass: onnx-int8, or onnx when the int8 file failed its check.
        "multilingual_backend": None if multilingual is None else multilingual.backend,
    }
