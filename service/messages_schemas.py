"""``POST /v1/messages``: the Anthropic Messages API request (pydantic at the boundary).

Unknown top-level fields are refused (400 naming them), as Anthropic's API does: a field
semroute would not carry to the upstream is never dropped silently. Content blocks keep their
extra keys (``cache_control``, ``citations`` …) so that they reach an Anthropic upstream.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from service.validation import reject_invalid_unicode

Text = Annotated[str, Field(max_length=10_000_000)]
# Anthropic's API takes JSON numbers and booleans only: "5" is not a max_tokens, "yes" no stream.
Count = Annotated[StrictInt, Field(gt=0)]


class Block(BaseModel):
    """One content block: text, image, tool_use, tool_result, document, thinking …"""

    model_config = ConfigDict(extra="allow")
    type: str = Field(min_length=1, max_length=64)
    text: str | None = None
    cache_control: dict[str, Any] | None = None
    # image / document
    source: dict[str, Any] | None = None
    # tool_use
    id: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    input: dict[str, Any] | None = None
    # tool_result
    tool_use_id: str | None = Field(default=None, max_length=256)
    content: str | list[Block] | None = None
    is_error: bool | None = None


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: Text | list[Block]


class SystemBlock(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text"] = "text"
    text: Text
    cache_control: dict[str, Any] | None = None


class Tool(BaseModel):
    """A client tool (``input_schema``), or a server tool (``type`` e.g. web_search_…)."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=128)
    type: str | None = Field(default=None, max_length=64)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _client_tools_have_a_schema(self) -> Tool:
        if self.type in (None, "custom") and self.input_schema is None:
            raise ValueError(f"tool {self.name!r} needs an input_schema (a JSON Schema object)")
        return self


class ToolChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = Field(default=None, max_length=128)
    disable_parallel_tool_use: bool | None = None


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, max_length=256)


class Thinking(BaseModel):
    """Extended thinking; passed to Anthropic upstreams as it is (``disabled``: left out)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["enabled", "disabled", "adaptive", "between_tools"]
    budget_tokens: Annotated[StrictInt, Field(ge=1024)] | None = None

    @model_validator(mode="after")
    def _enabled_has_a_budget(self) -> Thinking:
        if self.type == "enabled" and self.budget_tokens is None:
            raise ValueError("thinking.budget_tokens is required when thinking is enabled")
        return self


class OutputFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(BaseModel):
    """``format`` is structured output (a strict JSON schema: the ``structured_outputs``
    capability, on either wire); ``effort`` goes to Anthropic upstreams only."""

    model_config = ConfigDict(extra="forbid")
    effort: str | None = Field(default=None, max_length=32)
    format: OutputFormat | None = None


class MessagesBody(BaseModel):
    """The Anthropic Messages request; ``model`` may be ``auto[:task]`` or a catalogue name."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=200)
    max_tokens: Count
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: Text | list[SystemBlock] | None = None
    stop_sequences: list[Annotated[str, Field(max_length=1000)]] | None = None
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: Count | None = None
    stream: StrictBool = False  # JSON true / false only ("yes" is not a boolean)
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    cache_control: dict[str, Any] | None = None  # automatic caching of the last cacheable block
    service_tier: Literal["auto", "standard_only"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        """Raises: InvalidRequest (400, naming the field) on a lone surrogate anywhere."""
        reject_invalid_unicode(data)
        return data


class CountTokensBody(MessagesBody):
    """``POST /v1/messages/count_tokens``: a Messages request without ``max_tokens``."""

    max_tokens: Count = 1
