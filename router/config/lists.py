"""The catalogue-wide model list (``[routing] models``) that tasks and the default route inherit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return dict(value) if isinstance(value, Mapping) else {}


def _narrowed(own: list[str], base: list[str], narrow: bool, catalogue: list[str]) -> list[str]:
    if not own:
        return list(base)
    if not narrow:
        return list(own)
    # Unknown names stay, so that validation reports them instead of hiding a typo.
    kept = [m for m in own if m in base or m not in catalogue]
    return kept or list(base)


def inherit_model_lists(data: dict[str, Any]) -> dict[str, Any]:
    """Raw config data with every task's ``models`` and ``routing.default_route`` filled in.

    A list that is missing or empty inherits ``routing.models`` (unset: the whole catalogue in
    the order written); with ``routing.models`` set, the lists are narrowed to its models, and
    one narrowed to nothing inherits it.
    """
    if "routing" not in data or "tasks" not in data:
        return data  # incomplete: validation says what is missing
    routing = _as_dict(data["routing"])
    catalogue = list(_as_dict(data.get("models", {})))
    default = routing.get("models")
    narrow = isinstance(default, list)
    base = [str(m) for m in default] if isinstance(default, list) else catalogue
    tasks: dict[str, Any] = {}
    for name, raw in _as_dict(data["tasks"]).items():
        task = _as_dict(raw) if isinstance(raw, Mapping | BaseModel) else raw
        if isinstance(task, dict):
            task["models"] = _narrowed(list(task.get("models") or []), base, narrow, catalogue)
        tasks[name] = task
    routing["default_route"] = _narrowed(
        list(routing.get("default_route") or []), base, narrow, catalogue
    )
    return {**data, "routing": routing, "tasks": tasks}
