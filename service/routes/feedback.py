"""POST /v1/feedback: a rating (and optionally the right task) for an earlier request, joined to
its outcome record when the next centroids are trained."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from router.errors import InvalidRequest, NotReady
from router.outcomes import FeedbackRecord
from service.context import Caller, get_caller
from service.errors import ERROR_RESPONSES
from service.state import ServiceState, state_dep

router = APIRouter(tags=["feedback"])


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=128, description="From x-request-id")
    rating: Literal["good", "bad"]
    correct_task: str | None = Field(default=None, description="The task it should have been")
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackAck(BaseModel):
    ok: Literal[True] = True
    request_id: str


@router.post(
    "/v1/feedback",
    response_model=FeedbackAck,
    responses=ERROR_RESPONSES,
    summary="Rate an earlier request; correct its task",
)
async def feedback(
    body: FeedbackBody,
    state: Annotated[ServiceState, Depends(state_dep)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> FeedbackAck:
    """Raises: 404 for a request id this service has not seen (or no longer remembers)."""
    log = state.outcomes
    if log is None:
        raise NotReady("the outcome log is disabled ([outcomes] enabled = false)")
    if body.correct_task is not None and body.correct_task not in state.config.tasks:
        raise InvalidRequest(
            f"unknown task {body.correct_task!r}; expected one of {sorted(state.config.tasks)}",
            param="correct_task",
        )
    if not log.knows(body.request_id):
        raise InvalidRequest(
            f"unknown request id {body.request_id!r}", param="request_id", code="request_not_found"
        )
    record = FeedbackRecord(
        request_id=body.request_id,
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        tenant=caller.tenant,
        rating=body.rating,
        correct_task=body.correct_task,
        comment=body.comment,
    )
    log.record(record.to_json())
    return FeedbackAck(request_id=body.request_id)
