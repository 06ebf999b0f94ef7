"""What answering produced: upstream completions and stream chunks with their usage, the
fallback chain's attempts, the budget hold, and the answer that carries them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from router.types.decision import Decision, ModelTier

T = TypeVar("T")


class AttemptOutcome(enum.StrEnum):
    """How one attempt of the fallback chain ended: ok, not made, or the error's code."""

    OK = "ok"
    SKIPPED = "skipped"  # not attempted: breaker open, deadline passed, no usable deployment
    BUDGET_EXHAUSTED = "budget_exhausted"  # the budget did not admit it
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    TIMEOUT = "timeout"
    CONTENT_POLICY = "content_policy"
    CONTEXT_TOO_LONG = "context_too_long"
    BAD_REQUEST = "bad_request"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    BAD_RESPONSE = "bad_response"
    PROVIDER_ERROR = "provider_error"

    @property
    def called(self) -> bool:
        """Whether the upstream was called (its latency means something)."""
        return self not in (AttemptOutcome.SKIPPED, AttemptOutcome.BUDGET_EXHAUSTED)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, OpenAI-style: ``prompt_tokens`` includes the cached ones.

    ``cached_tokens`` were read from the provider's prompt cache (OpenAI ``cached_tokens``,
    Anthropic ``cache_read_input_tokens``), ``cache_write_tokens`` written to it (Anthropic
    ``cache_creation_input_tokens``); ``details`` keeps the upstream's ``*_tokens_details``.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """One upstream answer, normalised to the OpenAI shape (a single choice)."""

    id: str
    upstream_model: str
    message: Mapping[str, Any]  # role, content, optional tool_calls
    finish_reason: str | None
    usage: Usage
    created: int = 0
    choice_extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. the choice's logprobs


@dataclass(frozen=True, slots=True)
class Chunk:
    """One streamed delta, normalised to the OpenAI chunk shape."""

    delta: Mapping[str, Any]
    finish_reason: str | None = None
    usage: Usage | None = None
    id: str = ""
    upstream_model: str = ""
    choice_extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. the choice's logprobs


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to one deployment, as recorded by the fallback chain."""

    model: str
    provider: str
    deployment: str
    outcome: AttemptOutcome
    latency_ms: float
    status: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reservation:
    """A hold on the day's budget for one upstream call, settled with what the call cost."""

    scope: str  # "global", "tenant:<name>" or "key:<name>"
    day: str
    amount_micros: int
    id: str
    local: bool = False  # made on the local fallback ledger while Redis was unreachable


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A decision and what answering it produced (an upstream call, or a cache hit).

    ``usage`` and ``cost_usd`` are final: what the upstream reported (or, for a stream that
    reported nothing, what was streamed), priced once when the budget was settled. A cache
    hit costs nothing; its usage is what the answer cost when it was made.
    """

    decision: Decision
    result: T
    model: str
    provider: str
    model_tier: ModelTier
    attempts: tuple[Attempt, ...] = ()
    reservation: Reservation | None = None
    cached: bool = False
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
