"""Frozen value types shared by the library, the service and the training pipeline."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

JSON = dict[str, Any]
T = TypeVar("T")
TokenLimitField = Literal["max_tokens", "max_completion_tokens"]


class Priority(enum.StrEnum):
    """How the ranked list is ordered: configured quality order, price, or latency."""

    QUALITY = "quality"
    COST = "cost"
    SPEED = "speed"


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


class PriorityClass(enum.StrEnum):
    """Who may spend the reserve: critical may, low degrades one budget tier earlier."""

    CRITICAL = "critical"
    STANDARD = "standard"
    LOW = "low"


class Stage(enum.StrEnum):
    """Which encoder decided a task match."""

    TRANSFORMER = "transformer"
    STATIC = "static"  # the cascade's static first stage
    MULTILINGUAL = "multilingual"  # the multilingual stage (text the English encoders cannot read)


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


class Capability(enum.StrEnum):
    TOOLS = "tools"
    JSON_MODE = "json_mode"
    STRUCTURED_OUTPUTS = "structured_outputs"  # response_format json_schema with strict: true
    VISION = "vision"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. ``content`` is text or a list of OpenAI content parts."""

    role: str
    content: str | tuple[Mapping[str, Any], ...] | None = None
    name: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text: the string content, or its text parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")

    def has_image(self) -> bool:
        if isinstance(self.content, str) or self.content is None:
            return False
        return any(p.get("type") in ("image_url", "image", "input_image") for p in self.content)


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a request needs from a model; derived from the request, used by selection."""

    tools: bool = False
    json_mode: bool = False
    vision: bool = False
    context_tokens: int = 0
    output_tokens: int = 0
    structured: bool = False  # a strict JSON schema the model must enforce

    def capabilities(self) -> frozenset[Capability]:
        caps = set()
        if self.tools:
            caps.add(Capability.TOOLS)
        if self.json_mode:
            caps.add(Capability.JSON_MODE)
        if self.structured:
            caps.add(Capability.STRUCTURED_OUTPUTS)
        if self.vision:
            caps.add(Capability.VISION)
        return frozenset(caps)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """An OpenAI-style chat request, normalised.

    ``model`` is ``auto``, ``auto:<task>`` or a catalogue model name.
    """

    messages: tuple[Message, ...]
    model: str = "auto"
    priority: Priority | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    stream: bool = False
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None
    user: str | None = None
    tenant: str = "default"
    priority_class: PriorityClass = PriorityClass.STANDARD
    budget_scope: str | None = None  # "key:<name>" when the client key has its own budget
    allowed_models: frozenset[str] | None = None  # None: every catalogue model
    # Fields semroute does not interpret (OpenAI names, e.g. seed, logit_bias), passed to
    # OpenAI-compatible upstreams as given and mapped where Anthropic has an equivalent.
    extra: Mapping[str, Any] = field(default_factory=dict)
    max_tokens_field: TokenLimitField = "max_tokens"  # the name the client sent the limit under

    def requirements(self, prompt_tokens: int) -> Requirements:
        fmt = self.response_format or {}
        strict = fmt.get("type") == "json_schema" and bool(
            (fmt.get("json_schema") or {}).get("strict")
        )
        return Requirements(
            tools=bool(self.tools),
            json_mode=fmt.get("type") in ("json_object", "json_schema") and not strict,
            vision=any(m.has_image() for m in self.messages),
            context_tokens=prompt_tokens + (self.max_tokens or 0),
            output_tokens=self.max_tokens or 0,
            structured=strict,
        )


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

    scope: str  # "global" or "tenant:<name>"
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
