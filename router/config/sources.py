"""Where settings come from: the TOML file, then the environment over it (pydantic-settings).

Every setting has an environment name: ``SEMROUTE_`` + its dotted key with ``__`` for the dots,
any case (``SEMROUTE_REDIS__URL``, ``SEMROUTE_SERVICE__PORT``,
``SEMROUTE_PROVIDERS__OPENAI__BASE_URL``); lists and tables are written as JSON
(``SEMROUTE_ROUTING__MODELS='["gpt-4o-mini"]'``). A secret may come from a file instead:
``SEMROUTE_REDIS__URL_FILE=/run/secrets/redis_url`` reads the file (a setting whose own name
ends in ``_file``, such as ``api_key_file``, keeps that meaning), and every file of the directory
``SEMROUTE_SECRETS_DIR`` named like a variable (``SEMROUTE_REDIS__URL``) is read as one.
Precedence: environment variable > ``*_FILE`` > secrets directory > TOML file > default.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.providers.nested_secrets import NestedSecretsSettingsSource

from router.errors import ConfigError

PREFIX = "SEMROUTE_"
SECRETS_DIR_VAR = "SEMROUTE_SECRETS_DIR"
Source = Literal["default", "file", "env"]


@dataclass(frozen=True, slots=True)
class Layers:
    """The raw settings of each source, before validation."""

    file: dict[str, Any]
    env: dict[str, Any]
    path: Path | None  # the config file; None: the embedded default
    env_names: dict[str, str] = field(default_factory=dict)  # dotted key → variable or file

    def merged(self) -> dict[str, Any]:
        return deep_merge(self.file, self.env)

    def written(self, key: str) -> bool:
        """Whether some source (the embedded default included) gives ``key``."""
        return _has(self.env, key) or _has(self.file, key)

    def source(self, key: str) -> Source:
        """Where the value at dotted ``key`` (or anything under it) came from."""
        if _has(self.env, key):
            return "env"
        if self.path is not None and _has(self.file, key):
            return "file"
        return "default"


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = deep_merge(below, value)
        else:
            out[key] = value
    return out


def _has(tree: Mapping[str, Any], key: str) -> bool:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def env_layer(
    settings: type[BaseModel], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the environment gives, nested like the TOML; and which variable gave each.

    Raises:
        ConfigError: a ``*_FILE`` variable names a file that cannot be read; a table or list
            is not valid JSON.
    """
    view = _settings_view(settings)
    variables = {k.upper(): v for k, v in environ.items() if k.upper().startswith(PREFIX)}
    names = {_dotted(k): k for k in variables}
    for name, path in list(variables.items()):
        if name.endswith("_FILE") and not _is_setting(settings, _dotted(name)):
            target = name.removesuffix("_FILE")
            del variables[name]
            variables.setdefault(target, _read_secret(name, path))
            names.setdefault(_dotted(target), name)
    secrets: dict[str, Any] = {}
    secrets_dir = environ.get(SECRETS_DIR_VAR)
    try:
        if secrets_dir:
            secrets = _secrets(view, Path(secrets_dir), names)
        env = _EnvSource(view, variables)()
    except SettingsError as exc:  # a table or list that is not JSON
        raise ConfigError(_not_json(exc, variables)) from None  # the value may be a secret
    return deep_merge(secrets, env), names


def _not_json(exc: SettingsError, variables: Mapping[str, str]) -> str:
    field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else ""
    variable = PREFIX + field.upper() if field else "a SEMROUTE_* variable"
    if variable not in variables:
        variable = next((v for v in variables if _dotted(v) == field), variable)
    return (
        f"{variable}: a table or list is written as JSON (e.g. "
        f"SEMROUTE_ROUTING__MODELS='[\"gpt-4o-mini\"]'); or set one key, e.g. {PREFIX}"
        f"{field.upper() or 'SECTION'}__KEY"
    )


# SEMROUTE_* variables that are not settings.
_NOT_SETTINGS = frozenset({"SEMROUTE_CONFIG", SECRETS_DIR_VAR})


def stray_variables(settings: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """A message for each ``SEMROUTE_*`` variable that sets nothing (pydantic-settings ignores
    a name outside every section, such as ``SEMROUTE_REDIS_URL`` with one underscore), with the
    name it was probably meant to be."""
    out = []
    for variable in sorted(k for k in environ if k.upper().startswith(PREFIX)):
        name = variable.upper()
        if name in _NOT_SETTINGS:
            continue
        target = name.removesuffix("_FILE") if name.endswith("_FILE") else name
        dotted = _dotted(target)
        if dotted.split(".")[0] in settings.model_fields:
            continue  # a section's own keys are validated with it
        message = f"{variable} sets nothing: no setting is named {dotted!r}"
        if (meant := _meant(settings, dotted)) is not None:
            meant += name.removeprefix(target)  # the _FILE suffix, if any
            message += f"; did you mean {meant} (two underscores between the parts)?"
        out.append(message)
    return out


def _meant(settings: type[BaseModel], dotted: str) -> str | None:
    """``redis_url`` → ``SEMROUTE_REDIS__URL``, when that is a setting."""
    for section in settings.model_fields:
        rest = dotted.removeprefix(f"{section}_")
        if rest != dotted and _is_setting(settings, f"{section}.{rest}"):
            return PREFIX + f"{section}.{rest}".upper().replace(".", "__")
    return None


class _EnvSource(EnvSettingsSource):
    """pydantic-settings' environment source on a given mapping (testable, no os.environ)."""

    def __init__(self, settings: type[BaseSettings], variables: Mapping[str, str]) -> None:
        self._given = dict(variables)
        super().__init__(settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._given.items()}


def _secrets(view: type[BaseSettings], root: Path, names: dict[str, str]) -> dict[str, Any]:
    if not root.is_dir():
        raise ConfigError(
            f"{SECRETS_DIR_VAR}={root}: no such directory (unset it, or mount the secrets there)"
        )
    for entry in root.iterdir():
        if entry.is_file() and entry.name.upper().startswith(PREFIX):
            names.setdefault(_dotted(entry.name.upper()), f"{root / entry.name}")
    source = NestedSecretsSettingsSource(
        SecretsSettingsSource(view, secrets_dir=root), secrets_nested_delimiter="__"
    )
    found: dict[str, Any] = source()
    return found


def _read_secret(name: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{name}={path}: cannot read the file ({type(exc).__name__}); "
            f"mount it there or unset {name}"
        ) from exc


def _dotted(variable: str) -> str:
    return variable.removeprefix(PREFIX).lower().replace("__", ".")


def _is_setting(model: type[BaseModel], dotted: str) -> bool:
    """Whether ``dotted`` names a field (tables keyed by name, like providers, match any key)."""
    node: Any = model
    for part in dotted.split("."):
        node = _child(node, part)
        if node is None:
            return False
    return True


def _child(node: Any, part: str) -> Any:
    if isinstance(node, type) and issubclass(node, BaseModel):
        info = node.model_fields.get(part)
        return None if info is None else _unwrap(info.annotation)
    origin = typing.get_origin(node)
    if origin is dict:
        return _unwrap(typing.get_args(node)[1])
    return None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → X; ``Annotated[X, …]`` → X."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    return annotation


_VIEWS: dict[type[BaseModel], type[BaseSettings]] = {}


def _settings_view(settings: type[BaseModel]) -> type[BaseSettings]:
    """``settings`` as a BaseSettings class: what pydantic-settings' sources read fields from."""
    if settings not in _VIEWS:
        view = types.new_class(
            f"{settings.__name__}Env",
            (BaseSettings, settings),
            exec_body=lambda ns: ns.update(
                model_config=SettingsConfigDict(
                    env_prefix=PREFIX.lower(),
                    env_nested_delimiter="__",
                    case_sensitive=False,
                    frozen=True,
                    extra="forbid",
                )
            ),
        )
        _VIEWS[settings] = view
    return _VIEWS[settings]


def process_environ() -> Mapping[str, str]:
    """The process environment (read when a config is loaded, never at import)."""
    return os.environ
