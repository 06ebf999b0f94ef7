"""``semroute config show``: the effective configuration, every value with where it came from
(default / file / env), as TOML; secrets masked."""

from __future__ import annotations

import json
import re
from typing import Any

from router.config import Config, Layers, env_name

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_INHERITED = re.compile(r"^(tasks\.[^.]+\.models|routing\.default_route)$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    """A JSON-mode value as TOML (inline tables for objects)."""
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def source_of(layers: Layers, config: Config, key: str) -> str:
    source = layers.source(key)
    if source == "env":
        return f"env {env_name(layers, key)}"
    if not layers.written(key) and _INHERITED.match(key):
        return "inherited: routing.models" if config.routing.models else "inherited: catalogue"
    return source


def _section(
    name: str, data: dict[str, Any], layers: Layers, config: Config, out: list[str]
) -> None:
    leaves = {k: v for k, v in data.items() if not (isinstance(v, dict) and v)}
    tables = {k: v for k, v in data.items() if k not in leaves}
    if leaves:
        out.append(f"\n[{name}]")
    for key, value in leaves.items():
        dotted = f"{name}.{key}"
        where = source_of(layers, config, dotted)
        if value is None:
            out.append(f"# {_key(key)} is unset  # {where}")
            continue
        out.append(f"{_key(key)} = {_value(value)}  # {where}")
    for key, value in tables.items():
        _section(f"{name}.{_key(key)}", value, layers, config, out)


def show(config: Config, layers: Layers) -> str:
    """The effective configuration as TOML with a ``# source`` comment on every line.

    Secrets (``SecretStr``: the Redis URL) are masked; provider keys are never part of the
    config (only the names of their variables or files).
    """
    origin = str(layers.path) if layers.path is not None else "the embedded default"
    out = [
        f"# semroute configuration: {origin}; every line says where its value came from:",
        "# default (built in), file (the TOML), env (a SEMROUTE_* variable or secret file).",
    ]
    data = config.model_dump(mode="json")
    for name, section in data.items():
        if isinstance(section, dict):
            _section(name, section, layers, config, out)
    return "\n".join(out) + "\n"
