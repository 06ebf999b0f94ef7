"""HTTP request and response schemas (pydantic at the boundary; the library uses dataclasses)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from router.errors import InvalidRequest
from router.types import ChatRequest, Message, Priority
from service.passthrough import PassthroughFields
from service.tool_choice import (
    check_chosen_tools,
    check_tool_choice,
    check_tool_choice_has_tools,
    chosen_tools,
    defined_tools,
)
from service.validation import (
    ImageURL,
    ToolCall,
    check_response_format,
    check_tool_turns,
    check_tools,
    reject_invalid_unicode,
)

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None
    image_url: ImageURL | None = None

    @model_validator(mode="after")
    def _image_has_a_url(self) -> ContentPart:
        if self.type == "image_url" and self.image_url is None:
            raise ValueError('an image_url part needs "image_url": {"url": ...}')
        return self


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        return self

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
            tool_calls=tuple(c.model_dump() for c in self.tool_calls) if self.tool_calls else None,
            tool_call_id=self.tool_call_id,
        )


class ChatFields(PassthroughFields):
    """The OpenAI chat-completions fields semroute understands; the others are passed on
    (``PassthroughFields``)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(default="auto", min_length=1, max_length=200)
    priority: Priority | None = None
    # JSON integers only, as OpenAI takes them: "10" or true is not a token limit.
    max_tokens: StrictInt | None = Field(default=None, gt=0)
    max_completion_tokens: StrictInt | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    stream: StrictBool = False  # JSON true / false only ("yes" is not a boolean)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        """Raises: InvalidRequest (400, naming the field) on a lone surrogate anywhere."""
        reject_invalid_unicode(data)
        return data

    _tools = field_validator("tools")(check_tools)
    _tool_choice = field_validator("tool_choice")(check_tool_choice)
    _response_format = field_validator("response_format")(check_response_format)

    @model_validator(mode="after")
    def _tool_choice_fits_tools(self) -> ChatFields:
        """Raises: InvalidRequest (400, param ``tool_choice``) for a tool_choice without tools,
        or one that names a tool the tools do not define."""
        check_tool_choice_has_tools(self.tool_choice, self.tools)
        check_chosen_tools(chosen_tools(self.tool_choice), defined_tools(self.tools))
        return self

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


def _require_text(messages: tuple[Message, ...], param: str = "messages") -> tuple[Message, ...]:
    """Raises: InvalidRequest naming ``param`` when no message has text or an image."""
    if not any(m.text().strip() or m.has_image() for m in messages):
        what = "the input is empty" if param == "input" else "every message is empty"
        raise InvalidRequest(f"the request has no text to route: {what}", param)
    return messages


class RouteBody(ChatFields):
    """``POST /v1/route``: a chat-completions-style body, or ``{"input": "text"}``."""

    input: str | None = Field(default=None, description="Plain text to route (instead of messages)")
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)

    _tool_turns = field_validator("messages")(check_tool_turns)

    @model_validator(mode="after")
    def _one_of(self) -> RouteBody:
        if (self.input is None) == (self.messages is None):
            raise ValueError("give exactly one of 'input' or 'messages'")
        return self

    def to_request(self) -> ChatRequest:
        """Raises: InvalidRequest when there is no text to route."""
        if self.input is not None:
            messages: tuple[Message, ...] = (Message(role="user", content=self.input),)
            return self._request(_require_text(messages, "input"))
        messages = tuple(m.to_message() for m in self.messages or ())
        return self._request(_require_text(messages))


class ChatCompletionBody(ChatFields):
    """``POST /v1/chat/completions``: the OpenAI request; ``model`` may be ``auto[:task]``."""

    messages: list[ChatMessage] = Field(min_length=1)
    n: StrictInt | None = Field(default=None, ge=1, le=1, description="One choice only")
    stream_options: dict[str, Any] | None = None

    _tool_turns = field_validator("messages")(check_tool_turns)

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


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI-style error body."""

    error: ErrorDetail
