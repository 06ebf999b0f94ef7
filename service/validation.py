"""Strict checks of request bodies that the field types alone do not express: text that is not
valid Unicode (lone surrogates), tool definitions, assistant tool calls (JSON arguments, ids
used once, each answered by tool messages), image URLs (tool_choice: service/tool_choice.py).
Each failure is a 400 naming the offending field, before anything is routed or sent upstream.

A check pydantic can place (one field's value) raises ValueError, and the error names the
field pydantic was at; a check across fields or messages raises InvalidRequest with the
``param`` it blames (pydantic passes it through to the error handlers)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NoReturn, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.errors import InvalidRequest

# JSON "\ud800" decodes to a str no encoder (UTF-8, a tokenizer, an upstream) can take.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def reject_invalid_unicode(value: Any, path: str = "") -> None:
    """Walk a parsed JSON body. Raises: InvalidRequest naming the first string (or key) that
    holds a lone surrogate."""
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            where = path or "body"
            raise InvalidRequest(
                f"{where}: the text is not valid Unicode (a lone surrogate such as \\ud800)",
                param=path or None,
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            reject_invalid_unicode(key, path)
            reject_invalid_unicode(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            reject_invalid_unicode(item, f"{path}.{i}")


# What json.loads returned → its JSON name, for "expected an object, got a JSON array".
_JSON_KINDS: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


class FunctionCall(BaseModel):
    """``tool_calls[].function`` of an assistant message: a name and JSON-encoded arguments."""

    model_config = ConfigDict(extra="ignore", strict=True)
    name: str = Field(min_length=1, max_length=128)
    arguments: str = "{}"

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, arguments: str) -> str:
        """Raises: ValueError unless ``arguments`` is a JSON-encoded object. An empty string
        stands for no arguments (a streamed call without any leaves it so; upstream adapters
        read it as ``{}``)."""
        if not arguments:
            return arguments
        try:
            parsed = json.loads(arguments, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise ValueError('not valid JSON: expected a JSON-encoded object, e.g. "{}"') from None
        if not isinstance(parsed, dict):
            kind = _JSON_KINDS.get(type(parsed), "value")
            raise ValueError(f"expected a JSON-encoded object, got a JSON {kind}")
        return arguments


class ToolCall(BaseModel):
    """One tool call an assistant message made (OpenAI shape)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


class ImageURL(BaseModel):
    """``image_url`` of an ``image_url`` content part: ``{"url": ..., "detail": ...}`` (the bare
    URL string some clients send is read as ``{"url": ...}``)."""

    model_config = ConfigDict(extra="allow", strict=True)
    url: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_url(cls, data: Any) -> Any:
        return {"url": data} if isinstance(data, str) else data


class ToolTurn(Protocol):
    """What ``check_tool_turns`` reads of a chat message."""

    @property
    def role(self) -> str: ...

    @property
    def tool_calls(self) -> Sequence[ToolCall] | None: ...

    @property
    def tool_call_id(self) -> str | None: ...


Turn = TypeVar("Turn", bound=ToolTurn)


def check_tool_turns(messages: Sequence[Turn] | None) -> Sequence[Turn] | None:
    """The conversation rule of OpenAI's API: an assistant message with ``tool_calls`` is
    followed by tool messages answering each of its ids, and a tool message answers a call of
    the assistant message before it.

    Raises:
        InvalidRequest: naming the assistant message whose calls are not all answered, or the
            tool message that answers none.
    """
    waiting: dict[str, None] = {}  # the ids not answered yet, in the order they were called
    asked = 0
    for i, message in enumerate(messages or ()):
        if message.role == "tool":
            answers = message.tool_call_id
            if answers is None or answers not in waiting:
                raise InvalidRequest(
                    f"messages.{i}: a tool message must answer a tool call of the assistant "
                    f"message before it, and no call waits for tool_call_id {answers!r}",
                    param=f"messages.{i}",
                )
            del waiting[answers]
            continue
        if waiting:
            _unanswered(asked, waiting, f"messages.{i} is a {message.role} message")
        if message.role == "assistant" and message.tool_calls:
            ids = [call.id for call in message.tool_calls]
            check_unique_ids(ids, f"messages.{i}", "tool_calls ids")
            waiting = dict.fromkeys(ids)
            asked = i
    if waiting:
        _unanswered(asked, waiting, "the conversation ends first")
    return messages


def check_unique_ids(ids: Sequence[str], where: str, what: str) -> None:
    """Raises: InvalidRequest (param ``where``) when an id repeats: a call made twice under one
    id, or answered twice, has no unambiguous answer (OpenAI and Anthropic refuse it)."""
    if len(set(ids)) < len(ids):
        repeated = [x for x, n in Counter(ids).items() if n > 1]
        raise InvalidRequest(
            f"{where}: {what} must be unique; repeated: {', '.join(repeated)}", param=where
        )


def _unanswered(asked: int, waiting: Mapping[str, None], instead: str) -> NoReturn:
    raise InvalidRequest(
        f"messages.{asked}: an assistant message with tool_calls must be followed by tool "
        f"messages answering each tool_call_id; not answered: {', '.join(waiting)} ({instead})",
        param=f"messages.{asked}",
    )


def check_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Raises: ValueError naming the first tool that is not a valid definition.

    ``{"type": "function", "function": {...}}`` needs a name and, if given, a JSON-schema object
    as ``parameters``; other types (provider-native tools) need at least a string ``type``.
    """
    for i, tool in enumerate(tools or ()):
        kind = tool.get("type")
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"tools[{i}].type is required (e.g. 'function')")
        if kind != "function":
            continue
        fn = tool.get("function")
        if not isinstance(fn, dict):
            raise ValueError(f"tools[{i}].function must be an object with a name")
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise ValueError(
                f"tools[{i}].function.name is required: 1-128 letters, digits, '_', '-' or '.'"
            )
        params = fn.get("parameters")
        if params is not None and (
            not isinstance(params, dict) or params.get("type", "object") != "object"
        ):
            raise ValueError(f"tools[{i}].function.parameters must be a JSON Schema object")
        description = fn.get("description")
        if description is not None and not isinstance(description, str):
            raise ValueError(f"tools[{i}].function.description must be a string")
    return tools


_FORMATS = ("text", "json_object", "json_schema")


def check_response_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """Raises: ValueError unless ``fmt`` is text / json_object, or json_schema with an object."""
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind not in _FORMATS:
        raise ValueError(f"response_format.type must be one of {list(_FORMATS)}")
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise ValueError("response_format.json_schema must be an object with a schema object")
    return fmt
