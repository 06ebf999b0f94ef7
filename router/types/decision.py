"""The routing decision (request-path steps 1–5): the task match, the ranked candidates, the
budget tier and what the cache said."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.types.request import Priority, Requirements


class ModelTier(enum.StrEnum):
    PREMIUM = "premium"
    STANDARD = "standard"
    ECONOMY = "economy"


class BudgetTier(enum.StrEnum):
    """Budget state that shapes selection and caching (see DESIGN.md glossary)."""

    QUALITY = "quality"
    BALANCED = "balanced"
    ECONOMY = "economy"
    EXHAUSTED = "exhausted"


class Stage(enum.StrEnum):
    """Which encoder decided a task match."""

    TRANSFORMER = "transformer"
    STATIC = "static"  # the cascade's static first stage
    MULTILINGUAL = "multilingual"  # the multilingual stage (text the English encoders cannot read)


@dataclass(frozen=True, slots=True)
class TaskMatch:
    """Classification of one request against the task centroids."""

    task: str
    scores: Mapping[str, float]
    margin: float
    confident: bool
    threshold: float
    stage: Stage = Stage.TRANSFORMER
    overload: bool = False  # the static stage decided only because the next encoder was busy

    @property
    def score(self) -> float:
        return self.scores[self.task]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model in the ranked list, with why it is where it is."""

    model: str
    provider: str
    tier: ModelTier
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    model: str
    reason: str


@dataclass(frozen=True, slots=True)
class EmbeddedText:
    """What was embedded for a request: the blended text and whether anything was cut."""

    text: str
    truncated: bool
    original_chars: int
    context_turns: int = 0


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What the semantic cache said about a request."""

    hit: bool
    similarity: float
    threshold: float
    entry_id: str | None = None
    refused: tuple[str, ...] = ()  # verification refusals (why near neighbours were not served)
    skipped: str = ""  # why the cache was not consulted (disabled, task never cached, …)


@dataclass(frozen=True, slots=True)
class Decision:
    """The routing decision: steps 1–5 of the request path, nothing executed."""

    match: TaskMatch | None
    route: str
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skipped, ...]
    priority: Priority
    budget_tier: BudgetTier
    centroid_version: str
    embedded: EmbeddedText | None
    requirements: Requirements
    latency_ms: Mapping[str, float] = field(default_factory=dict)
    budget_remaining: float | None = None  # fraction of the day's budget left (None: no budget)
    cache: CacheInfo | None = None
    task: str | None = None  # the classified task or auto:<task>; None for a named model
