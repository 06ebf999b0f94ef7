"""The response of ``POST /v1/route``: a routing decision, nothing executed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from router.types import CacheInfo, Decision


class CandidateOut(BaseModel):
    model: str
    provider: str
    tier: str
    reason: str


class SkippedOut(BaseModel):
    model: str
    reason: str


class CacheOut(BaseModel):
    hit: bool
    similarity: float
    threshold: float
    entry_id: str | None = None
    refused: list[str] = Field(default_factory=list, description="Why near neighbours were refused")
    skipped: str = Field(default="", description="Why the cache was not consulted")

    @classmethod
    def of(cls, info: CacheInfo) -> CacheOut:
        # Field by field: dataclasses.asdict deep-copies, which costs more than the rest.
        return cls.model_construct(
            hit=info.hit,
            similarity=info.similarity,
            threshold=info.threshold,
            entry_id=info.entry_id,
            refused=list(info.refused),
            skipped=info.skipped,
        )


class RouteResponse(BaseModel):
    """The routing decision (nothing executed)."""

    object: Literal["semroute.decision"] = "semroute.decision"
    task: str | None = Field(description="Top task; null when a model was named explicitly")
    confident: bool | None
    route: str = Field(description="The task whose model list was used, or 'default'")
    scores: dict[str, float]
    margin: float | None
    threshold: float | None
    decided_by: str | None = Field(
        description="Which encoder decided the task: 'static' (cascade first stage), "
        "'multilingual' or 'transformer'; null when a model was named explicitly"
    )
    overload: bool = Field(
        default=False,
        description="The static stage decided only because the next encoder was busy (its "
        "queue or predicted wait long, or the request waited [encoder.cascade] max_wait_ms): a "
        "confident match to its task, an unsure one to the default route",
    )
    candidates: list[CandidateOut]
    skipped: list[SkippedOut]
    priority: str
    budget_tier: str
    budget_remaining: float | None
    cache: CacheOut | None
    centroid_version: str
    truncated: bool = Field(description="True when the text was cut to fit the encoder window")
    embedded_chars: int
    context_turns: int
    latency_ms: dict[str, float]

    @classmethod
    def from_decision(cls, d: Decision) -> RouteResponse:
        """Built without validation (``model_construct``): every field comes typed from the
        decision, and this runs on every /v1/route request."""
        m, e = d.match, d.embedded
        return cls.model_construct(
            task=m.task if m else None,
            confident=m.confident if m else None,
            route=d.route,
            scores=dict(m.scores) if m else {},
            margin=m.margin if m else None,
            threshold=m.threshold if m else None,
            decided_by=m.stage if m else None,
            overload=m.overload if m else False,
            candidates=[
                CandidateOut.model_construct(
                    model=c.model, provider=c.provider, tier=c.tier.value, reason=c.reason
                )
                for c in d.candidates
            ],
            skipped=[SkippedOut.model_construct(model=s.model, reason=s.reason) for s in d.skipped],
            priority=d.priority.value,
            budget_tier=d.budget_tier.value,
            budget_remaining=d.budget_remaining,
            cache=CacheOut.of(d.cache) if d.cache else None,
            centroid_version=d.centroid_version,
            truncated=bool(e and e.truncated),
            embedded_chars=len(e.text) if e else 0,
            context_turns=e.context_turns if e else 0,
            latency_ms=dict(d.latency_ms),
        )
