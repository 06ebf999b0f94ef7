"""``POST /v1/messages``: the Anthropic Messages API request (pydantic at the boundary).

Unknown top-level fields are refused (400 naming them), as Anthropic's API does: a field
semroute would not carry to the upstream is never dropped silently. Content blocks keep their
extra keys (``cache_control``, ``citations`` …) so that they reach an Anthropic upstream.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NoReturn

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
from service.tool_choice import check_chosen_tools, check_tool_choice_has_tools
from service.validation import check_unique_ids, reject_invalid_unicode

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
    is_error: StrictBool | None = None


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: Text | list[Block]


def _blocks(message: AnthropicMessage, kind: str) -> list[Block]:
    return (
        [b for b in message.content if b.type == kind] if isinstance(message.content, list) else []
    )


def check_tool_results(messages: list[AnthropicMessage]) -> list[AnthropicMessage]:
    """The conversation rule of Anthropic's API: the tool_use blocks of an assistant message are
    answered by tool_result blocks in the user message right after it, and a tool_result block
    answers a tool_use of the message before it.

    Raises:
        InvalidRequest: naming the message where an answer is missing or answers nothing, or
            where an id repeats.
    """
    waiting: list[str] = []  # the tool_use ids of the message before
    asked = 0
    for i, message in enumerate(messages):
        if message.role == "assistant":
            if waiting:
                _unanswered(asked, waiting, f"messages.{i} is an assistant message")
            waiting = [b.id for b in _blocks(message, "tool_use") if b.id]
            check_unique_ids(waiting, f"messages.{i}", "tool_use ids")
            asked = i
            continue
        answered = [b.tool_use_id for b in _blocks(message, "tool_result") if b.tool_use_id]
        check_unique_ids(answered, f"messages.{i}", "the tool_use_id of tool_result blocks")
        if unexpected := [x for x in answered if x not in waiting]:
            raise InvalidRequest(
                f"messages.{i}: unexpected tool_use_id in tool_result blocks: "
                f"{', '.join(unexpected)}; each tool_result block must answer a tool_use block "
                "of the message before it",
                param=f"messages.{i}",
            )
        if missing := [x for x in waiting if x not in answered]:
            _unanswered(asked, missing, f"messages.{i} has none for them")
        waiting = []
    if waiting:
        _unanswered(asked, waiting, "no message follows it")
    return messages


def _unanswered(asked: int, ids: list[str], instead: str) -> NoReturn:
    raise InvalidRequest(
        f"messages.{asked}: tool_use ids were found without tool_result blocks immediately "
        f"after: {', '.join(ids)}; each tool_use block must have a tool_result block in the next "
        f"message ({instead})",
        param=f"messages.{asked}",
    )


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
    disable_parallel_tool_use: StrictBool | None = None

    @model_validator(mode="after")
    def _name_with_tool_only(self) -> ToolChoice:
        """A ``tool`` choice names its tool; the others name none (as Anthropic's API has it)."""
        if self.type == "tool" and not self.name:
            raise ValueError('type "tool" needs the name of one of the tools')
        if self.type != "tool" and self.name is not None:
            raise ValueError(f'type "{self.type}" takes no name')
        if self.type == "none" and self.disable_parallel_tool_use is not None:
            raise ValueError('type "none" takes no disable_parallel_tool_use')
        return self


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

    _tool_results = field_validator("messages")(check_tool_results)

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        """Raises: InvalidRequest (400, naming the field) on a lone surrogate anywhere."""
        reject_invalid_unicode(data)
        return data

    @model_validator(mode="after")
    def _tool_choice_fits_tools(self) -> MessagesBody:
        """Raises: InvalidRequest (400) for a tool_choice without tools, or one that names a
        tool the tools do not define."""
        check_tool_choice_has_tools(self.tool_choice, self.tools)
        choice = self.tool_choice
        if choice is not None and choice.name is not None:
            defined = [("tool", tool.name) for tool in self.tools or ()]
            check_chosen_tools([("tool", choice.name)], defined)
        return self


class CountTokensBody(MessagesBody):
    """``POST /v1/messages/count_tokens``: a Messages request without ``max_tokens``."""

    max_tokens: Count = 1
