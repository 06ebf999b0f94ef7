"""A chat request as the library sees it: messages, the caller's priorities and what the
request needs from a model."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
TokenLimitField = Literal["max_tokens", "max_completion_tokens"]


class Priority(enum.StrEnum):
    """How the ranked list is ordered: configured quality order, price, or latency."""

    QUALITY = "quality"
    COST = "cost"
    SPEED = "speed"


class PriorityClass(enum.StrEnum):
    """Who may spend the reserve: critical may, low degrades one budget tier earlier."""

    CRITICAL = "critical"
    STANDARD = "standard"
    LOW = "low"


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
