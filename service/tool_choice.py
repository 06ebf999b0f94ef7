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
# Anthropic's own tool_choice shapes, passed through to Anthropic upstreams as given (like its
# native tools, router/providers/anthropic_wire.py): "tool" names one tool at the top level.
_ANTHROPIC_CHOICES = ("tool", "any", "auto", "none")
_NATIVE = "native"  # the kind of a provider-native tool in defined_tools: chosen by its name


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
    custom tool), is an ``allowed_tools`` list of them, or is one of Anthropic's shapes (a
    ``tool`` with a name, ``any``, ``auto``, ``none``)."""
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
    elif kind == "tool":
        if not isinstance(choice.get("name"), str) or not choice["name"]:
            raise ValueError('tool_choice.name is required for "type": "tool"')
    elif kind not in _ANTHROPIC_CHOICES:
        known = [*_NAMED, "allowed_tools", *_ANTHROPIC_CHOICES]
        raise ValueError(f"tool_choice.type must be one of {known}, not {kind!r}")
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
    custom tool_choice, those of an ``allowed_tools`` list, Anthropic's ``tool`` one."""
    if not isinstance(choice, Mapping):
        return []
    if choice.get("type") == "tool" and isinstance(choice.get("name"), str):
        return [("tool", choice["name"])]
    entries: Sequence[Any] = [choice]
    if choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools")
        entries = (allowed.get("tools") or ()) if isinstance(allowed, Mapping) else ()
    return defined_tools(entries)


def defined_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """The (type, name) of each function or custom tool among OpenAI ``tools``, and
    (``native``, name) of each provider-native one with a top-level name (Anthropic's
    ``{"type": "web_search_20250305", "name": "web_search"}``, passed through)."""
    out: list[tuple[str, str]] = []
    for tool in tools or ():
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if not isinstance(kind, str):
            continue
        if kind in _NAMED:
            name = _name_of(tool, kind)
        else:
            kind, name = _NATIVE, tool.get("name")
        if isinstance(name, str) and name:
            out.append((kind, name))
    return out


def check_chosen_tools(
    chosen: Sequence[tuple[str, str]], defined: Sequence[tuple[str, str]]
) -> None:
    """``chosen``: the (type, name) of each tool a tool_choice names; ``defined``: those the
    request's tools define. A provider-native tool is chosen by its name whatever the type,
    and a ``tool`` choice (Anthropic's) names any tool.

    Raises:
        InvalidRequest: (param ``tool_choice``) a tool_choice names a tool that is not defined
            (OpenAI and Anthropic refuse it).
    """
    names = {n for _, n in defined}
    for kind, name in chosen:
        if (kind, name) in defined or (_NATIVE, name) in defined:
            continue
        if kind != "tool" or name not in names:
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
