"""Strict checks of ``tool_choice`` (the part of request validation, service/validation.py,
about which tool the model must call): its shape on the OpenAI API, and on both APIs that it
comes with tools and names only tools the request defines. Each failure is a 400 naming
``tool_choice``, before anything is routed or sent upstream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from router.errors import InvalidRequest

_TOOL_CHOICES = ("auto", "none", "required")
_NAMED = ("function", "custom")  # the tool_choice types that name one tool (under that key)


def _name_of(entry: Mapping[str, Any], kind: str) -> str | None:
    """``entry[kind].name``, the tool a tool_choice (or a tool) of type ``kind`` names."""
    spec = entry.get(kind)
    name = spec.get("name") if isinstance(spec, Mapping) else None
    return name if isinstance(name, str) and name else None


def _named_tool(entry: Mapping[str, Any], kind: str, where: str) -> None:
    """Raises: ValueError unless ``entry[kind].name`` is a non-empty string."""
    if _name_of(entry, kind) is None:
        raise ValueError(f"{where}.{kind}.name is required: the name of one of the tools")


def check_tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """Raises: ValueError unless ``choice`` is auto / none / required, names a function (or a
    custom tool), or is an ``allowed_tools`` list of them."""
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise ValueError(f"tool_choice must be one of {list(_TOOL_CHOICES)} or an object")
        return choice
    kind = choice.get("type")
    if not isinstance(kind, str):
        raise ValueError("tool_choice.type is required")
    if kind in _NAMED:
        _named_tool(choice, kind, "tool_choice")
    elif kind == "allowed_tools":
        _allowed_tools(choice.get("allowed_tools"))
    return choice


def _allowed_tools(allowed: object) -> None:
    where = "tool_choice.allowed_tools"
    if not isinstance(allowed, Mapping) or allowed.get("mode") not in ("auto", "required"):
        raise ValueError(f'{where} must be an object with "mode": "auto" or "required"')
    tools = allowed.get("tools")
    if not isinstance(tools, list) or not all(isinstance(t, Mapping) for t in tools):
        raise ValueError(f"{where}.tools must be a list of tool objects")
    for i, tool in enumerate(tools):
        if tool.get("type") in _NAMED:
            _named_tool(tool, tool["type"], f"{where}.tools.{i}")


def chosen_tools(choice: str | Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The (type, name) of each tool an OpenAI tool_choice names: the one of a function or
    custom tool_choice, those of an ``allowed_tools`` list."""
    if not isinstance(choice, Mapping):
        return []
    entries: Sequence[Any] = [choice]
    if choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools")
        entries = (allowed.get("tools") or ()) if isinstance(allowed, Mapping) else ()
    return defined_tools(entries)


def defined_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """The (type, name) of each function or custom tool among OpenAI ``tools``."""
    out: list[tuple[str, str]] = []
    for tool in tools or ():
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        name = _name_of(tool, kind) if isinstance(kind, str) and kind in _NAMED else None
        if kind is not None and name is not None:
            out.append((kind, name))
    return out


def check_chosen_tools(
    chosen: Sequence[tuple[str, str]], defined: Sequence[tuple[str, str]]
) -> None:
    """``chosen``: the (type, name) of each tool a tool_choice names; ``defined``: those the
    request's tools define.

    Raises:
        InvalidRequest: (param ``tool_choice``) a tool_choice names a tool that is not defined
            (OpenAI and Anthropic refuse it).
    """
    for kind, name in chosen:
        if (kind, name) not in defined:
            known = ", ".join(repr(n) for k, n in defined if k == kind) or "none"
            what = "tool" if kind == "tool" else f"{kind} tool"
            raise InvalidRequest(
                f"tool_choice: {name!r} is not the name of any {what} in tools "
                f"(the names given: {known})",
                param="tool_choice",
            )


def check_tool_choice_has_tools(choice: object, tools: Sequence[object] | None) -> None:
    """Raises: InvalidRequest when ``tool_choice`` is given without any tools (OpenAI and
    Anthropic refuse it, even ``"none"`` or ``"auto"``)."""
    if choice is not None and not tools:
        raise InvalidRequest(
            "tool_choice: only allowed when tools are given (send tools, or leave tool_choice out)",
            param="tool_choice",
        )
