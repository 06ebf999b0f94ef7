"""Strict checks of request bodies that the field types alone do not express: text that is not
valid Unicode (lone surrogates), tool definitions and assistant tool calls. Each failure is a
400 naming the offending field, before anything is routed or sent upstream."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class FunctionCall(BaseModel):
    """``tool_calls[].function`` of an assistant message: a name and JSON-encoded arguments."""

    model_config = ConfigDict(extra="ignore", strict=True)
    name: str = Field(min_length=1, max_length=128)
    arguments: str = "{}"


class ToolCall(BaseModel):
    """One tool call an assistant message made (OpenAI shape)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


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


_TOOL_CHOICES = ("auto", "none", "required")
_FORMATS = ("text", "json_object", "json_schema")


def check_tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """Raises: ValueError unless ``choice`` is auto / none / required, or names a function."""
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise ValueError(f"tool_choice must be one of {list(_TOOL_CHOICES)} or an object")
        return choice
    kind = choice.get("type")
    if not isinstance(kind, str):
        raise ValueError("tool_choice.type is required")
    fn = choice.get("function")
    if kind == "function" and not (isinstance(fn, dict) and isinstance(fn.get("name"), str)):
        raise ValueError("tool_choice.function.name is required")
    return choice


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
