"""Frozen value types shared by the library, the service and the training pipeline: the
request, the routing decision, and what answering it produced."""

from router.types.answer import (
    Answer,
    Attempt,
    AttemptOutcome,
    Chunk,
    Completion,
    Reservation,
    Usage,
)
from router.types.decision import (
    BudgetTier,
    CacheInfo,
    Candidate,
    Decision,
    EmbeddedText,
    ModelTier,
    Skipped,
    Stage,
    TaskMatch,
)
from router.types.request import (
    JSON,
    Capability,
    ChatRequest,
    Message,
    Priority,
    PriorityClass,
    Requirements,
    TokenLimitField,
)

__all__ = [
    "JSON",
    "Answer",
    "Attempt",
    "AttemptOutcome",
    "BudgetTier",
    "CacheInfo",
    "Candidate",
    "Capability",
    "ChatRequest",
    "Chunk",
    "Completion",
    "Decision",
    "EmbeddedText",
    "Message",
    "ModelTier",
    "Priority",
    "PriorityClass",
    "Requirements",
    "Reservation",
    "Skipped",
    "Stage",
    "TaskMatch",
    "TokenLimitField",
    "Usage",
]
