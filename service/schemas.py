"""HTTP request and response schemas (pydantic at the boundary; the library uses dataclasses)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.errors import InvalidRequest
from router.types import CacheInfo, ChatRequest, Decision, Message, Priority
from service.passthrough import PassthroughFields

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def to_message(self) -> Message:
        content: str | tuple[dict[str, Any], ...] | None
        if isinstance(self.content, list):
            content = tuple(p.model_dump(exclude_none=True) for p in self.content)
        else:
            content = self.content
        return Message(
            role=self.role,
            content=content,
            name=self.name,
            tool_calls=tuple(self.tool_calls) if self.tool_calls else None,
            tool_call_id=self.tool_call_id,
        )


class ChatFields(PassthroughFields):
    """The OpenAI chat-completions fields semroute understands; the others are passed on
    (``PassthroughFields``)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(default="auto", min_length=1, max_length=200)
    priority: Priority | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    stream: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None

    def _request(self, messages: tuple[Message, ...]) -> ChatRequest:
        stop = (self.stop,) if isinstance(self.stop, str) else self.stop
        return ChatRequest(
            messages=messages,
            model=self.model,
            priority=self.priority,
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=tuple(stop) if stop else None,
            stream=self.stream,
            tools=tuple(self.tools) if self.tools else None,
            tool_choice=self.tool_choice,
            response_format=self.response_format,
            user=self.user,
            extra=self.passthrough(),
            max_tokens_field=(
                "max_completion_tokens" if self.max_completion_tokens else "max_tokens"
            ),
        )


def _require_text(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    if not any(m.text().strip() or m.has_image() for m in messages):
        raise InvalidRequest("the request has no text to route: every message is empty", "messages")
    return messages


class RouteBody(ChatFields):
    """``POST /v1/route``: a chat-completions-style body, or ``{"input": "text"}``."""

    input: str | None = Field(default=None, description="Plain text to route (instead of messages)")
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> RouteBody:
        if (self.input is None) == (self.messages is None):
            raise ValueError("give exactly one of 'input' or 'messages'")
        return self

    def to_request(self) -> ChatRequest:
        """Raises: InvalidRequest when there is no text to route."""
        if self.input is not None:
            messages: tuple[Message, ...] = (Message(role="user", content=self.input),)
        else:
            messages = tuple(m.to_message() for m in self.messages or ())
        return self._request(_require_text(messages))


class ChatCompletionBody(ChatFields):
    """``POST /v1/chat/completions``: the OpenAI request; ``model`` may be ``auto[:task]``."""

    messages: list[ChatMessage] = Field(min_length=1)
    n: int | None = Field(default=None, ge=1, le=1, description="Only one choice is supported")
    stream_options: dict[str, Any] | None = None

    def to_request(self) -> ChatRequest:
        """Raises: InvalidRequest when there is no text in any message."""
        return self._request(_require_text(tuple(m.to_message() for m in self.messages)))

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class AttemptOut(BaseModel):
    model: str
    provider: str
    deployment: str
    outcome: str
    latency_ms: float
    status: int | None = None
    detail: str = ""


class SemrouteInfo(BaseModel):
    """How semroute answered: the decision, the attempts, the model that was billed."""

    task: str | None
    confident: bool | None
    route: str
    model: str
    provider: str
    model_tier: str
    attempts: list[AttemptOut]
    cache: Literal["hit", "miss"] = "miss"
    cache_similarity: float | None = None
    budget_tier: str
    budget_remaining: float | None = Field(
        default=None, description="Fraction of the day's budget left; null without a budget"
    )
    centroid_version: str


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class ChoiceOut(BaseModel):
    index: int = 0
    message: dict[str, Any]
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    semroute: SemrouteInfo


class ChunkChoice(BaseModel):
    index: int = 0
    delta: dict[str, Any]
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(BaseModel):
    """One SSE ``data:`` event of a streamed answer (the stream ends with ``data: [DONE]``; a
    failure after the first byte sends an error object instead, and no ``[DONE]``)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: UsageOut | None = None


def sse_event_schema() -> dict[str, Any]:
    """The JSON schema of one SSE event: a chunk, an error, or the ``[DONE]`` sentinel."""
    chunk = ChatCompletionChunk.model_json_schema(ref_template="#/$defs/{model}")
    error = ErrorBody.model_json_schema(ref_template="#/$defs/{model}")
    defs = {**chunk.pop("$defs", {}), **error.pop("$defs", {})}
    return {
        "$defs": defs,
        "oneOf": [chunk, error, {"type": "string", "enum": ["[DONE]"]}],
    }


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
        return cls(
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
        description="The static stage decided only because the next encoder's queue was long "
        "([encoder.cascade] overload_queue): a confident match to its task, an unsure one to "
        "the default route",
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
        m, e = d.match, d.embedded
        return cls(
            task=m.task if m else None,
            confident=m.confident if m else None,
            route=d.route,
            scores=dict(m.scores) if m else {},
            margin=m.margin if m else None,
            threshold=m.threshold if m else None,
            decided_by=m.stage if m else None,
            overload=m.overload if m else False,
            candidates=[
                CandidateOut(model=c.model, provider=c.provider, tier=c.tier.value, reason=c.reason)
                for c in d.candidates
            ],
            skipped=[SkippedOut(model=s.model, reason=s.reason) for s in d.skipped],
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


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI-style error body."""

    error: ErrorDetail
