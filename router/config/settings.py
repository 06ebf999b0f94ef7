"""Typed configuration (semroute.toml): pydantic models, frozen, unknown keys rejected.

``load_config()`` reads a TOML file (or the embedded default) once; the result is passed
explicitly to whoever needs it. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from router.config.api import ApiConfig, anthropic_cache_prices
from router.config.encoder import CascadeConfig, ContextConfig, EncoderConfig
from router.config.execution import RETRYABLE_CODES, BreakerConfig, ExecutionConfig, RetryPolicy
from router.config.limits import LimitsConfig, RateLimit
from router.config.lists import inherit_model_lists
from router.config.sections import (
    AuthConfig,
    BudgetConfig,
    CacheConfig,
    ClientKey,
    DeploymentConfig,
    ModelConfig,
    OutcomesConfig,
    ProviderConfig,
    RedisConfig,
    RoutingConfig,
    ServiceConfig,
    TaskConfig,
    TrainingConfig,
    _Model,
)
from router.config.sources import PREFIX, Layers, env_layer, process_environ
from router.errors import ConfigError

__all__ = [
    "RETRYABLE_CODES",
    "ApiConfig",
    "AuthConfig",
    "BreakerConfig",
    "BudgetConfig",
    "CacheConfig",
    "CascadeConfig",
    "ClientKey",
    "Config",
    "ContextConfig",
    "DeploymentConfig",
    "EncoderConfig",
    "ExecutionConfig",
    "Layers",
    "LimitsConfig",
    "ModelConfig",
    "OutcomesConfig",
    "ProviderConfig",
    "RateLimit",
    "RedisConfig",
    "RetryPolicy",
    "RoutingConfig",
    "ServiceConfig",
    "TaskConfig",
    "TrainingConfig",
    "config_from",
    "env_name",
    "load_config",
    "load_layers",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
# Sections without defaults: the file must have them (the catalogue and the routes).
_WHOLE_SECTIONS = frozenset({"routing", "providers", "models", "tasks"})
DEFAULT_TASKS = ("code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract")


class Config(_Model):
    service: ServiceConfig = ServiceConfig()
    api: ApiConfig = ApiConfig()
    auth: AuthConfig = AuthConfig()
    encoder: EncoderConfig = EncoderConfig()
    context: ContextConfig = ContextConfig()
    routing: RoutingConfig
    execution: ExecutionConfig = ExecutionConfig()
    budget: BudgetConfig = BudgetConfig()
    cache: CacheConfig = CacheConfig()
    redis: RedisConfig = RedisConfig()
    limits: LimitsConfig = LimitsConfig()
    outcomes: OutcomesConfig = OutcomesConfig()
    training: TrainingConfig = TrainingConfig()
    providers: dict[str, ProviderConfig]
    models: Annotated[dict[str, ModelConfig], Field(min_length=1)]
    tasks: Annotated[dict[str, TaskConfig], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _inherit_lists(cls, data: Any) -> Any:
        return inherit_model_lists(data) if isinstance(data, dict) else data

    @model_validator(mode="before")
    @classmethod
    def _anthropic_cache_prices(cls, raw: Any) -> Any:
        return anthropic_cache_prices(raw)

    @model_validator(mode="after")
    def _references_resolve(self) -> Config:
        for name, model in self.models.items():
            for provider in {model.provider, *(d.provider for d in model.deployments)}:
                if provider not in self.providers:
                    raise ValueError(
                        f"models.{name}: unknown provider {provider!r}; "
                        f"expected one of {sorted(self.providers)}"
                    )
        lists = {"routing.models": self.routing.models or []}
        lists.update({f"tasks.{t}.models": c.models for t, c in self.tasks.items()})
        lists.update({f"models.{m}.alternates": c.alternates for m, c in self.models.items()})
        lists.update(
            {f"auth.keys.{k.name}.allowed_models": k.allowed_models for k in self.auth.keys}
        )
        names = [k.name for k in self.auth.keys]
        if len(set(names)) != len(names) or len({k.sha256 for k in self.auth.keys}) != len(names):
            raise ValueError("auth.keys: key names and sha256 digests must be unique")
        lists["routing.default_route"] = self.routing.default_route
        for key, names in lists.items():
            unknown = [n for n in names if n not in self.models]
            if unknown:
                raise ValueError(
                    f"{key}: unknown model(s) {unknown}; "
                    f"expected catalogue names {sorted(self.models)}"
                )
        return self


def _missing_sections(exc: ValidationError) -> str | None:
    """The message for a file without the sections every config needs, or None."""
    top = [e["loc"] for e in exc.errors() if e["type"] == "missing" and len(e["loc"]) == 1]
    sections = sorted({str(loc[0]) for loc in top} & _WHOLE_SECTIONS)
    if not sections:
        return None
    return (
        f"no {', '.join(f'[{s}]' for s in sections)} in the file: a config file replaces the "
        "embedded default as a whole (only SEMROUTE_* variables are laid over it), so it needs "
        f"the catalogue too; start from a copy of {DEFAULT_CONFIG} (or the output of "
        "`semroute config show`) and change what differs"
    )


def _format_validation(exc: ValidationError, layers: Layers) -> tuple[str, str]:
    if (message := _missing_sections(exc)) is not None:
        return "", message
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    more = f" (and {len(exc.errors()) - 1} more error(s))" if len(exc.errors()) > 1 else ""
    # The Redis URL may hold a password; a missing key's input is the table around it.
    secret = key == "redis" or "url" in key
    shown = key and not secret and err["type"] != "missing"
    got = f"; got {err.get('input')!r}" if shown else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    if key and layers.source(key) == "env":
        message += f" (set by {env_name(layers, key)})"
    return key, f"{message}{got}{more}"


def env_name(layers: Layers, key: str) -> str:
    """The variable (or secret file) that set dotted ``key`` or the table above it."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        name = layers.env_names.get(".".join(parts[:n]))
        if name is not None:
            return name
    return PREFIX + key.upper().replace(".", "__")


def load_layers(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Layers:
    """The TOML file (``None``: the embedded default) and the environment, unvalidated.

    Raises:
        ConfigError: the file is missing or not TOML; a ``*_FILE`` cannot be read.
    """
    source = path or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=source) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=source) from exc
    env, names = env_layer(Config, process_environ() if environ is None else environ)
    return Layers(file=raw, env=env, path=path, env_names=names)


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate semroute.toml (``None``: the embedded default) with the environment's
    ``SEMROUTE_*`` overrides (router/config/sources.py; ``environ`` default: the process's).

    Relative paths: a path written in the file is taken from the file's directory, one from the
    environment from the working directory, and an unset one is where semroute ships it (the
    project root: centroids/, var/onnx, var/static, var/cache, var/outcomes).

    Raises:
        ConfigError: the file is missing, is not TOML, or does not validate.
    """
    return config_from(load_layers(path, environ))


def config_from(layers: Layers) -> Config:
    """Validate merged layers (see ``load_layers``).

    Raises:
        ConfigError: they do not validate; the message names the key (and the variable).
    """
    try:
        config = Config.model_validate(layers.merged())
    except ValidationError as exc:
        key, message = _format_validation(exc, layers)
        raise ConfigError(message, path=layers.path or DEFAULT_CONFIG, key=key) from exc
    return _with_absolute_paths(config, lambda key: _base(layers, key))


def _base(layers: Layers, key: str) -> Path:
    source = layers.source(key)
    if source == "file" and layers.path is not None:
        return layers.path.resolve().parent
    return Path.cwd() if source == "env" else PROJECT_ROOT


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def _with_absolute_paths(config: Config, base: Callable[[str], Path]) -> Config:
    def absolute(key: str, path: Path | None) -> Path | None:
        return None if path is None else _resolve(path, base(key))

    def section(name: str, *fields: str) -> BaseModel:
        part: BaseModel = getattr(config, name)
        update = {f: absolute(f"{name}.{f}", getattr(part, f)) for f in fields}
        return part.model_copy(update=update)

    providers = {
        name: p.model_copy(
            update={"api_key_file": absolute(f"providers.{name}.api_key_file", p.api_key_file)}
        )
        for name, p in config.providers.items()
    }
    training = config.training.model_copy(
        update={
            "gate_data": [
                _resolve(p, base("training.gate_data")) for p in config.training.gate_data
            ]
        }
    )
    return config.model_copy(
        update={
            "routing": section("routing", "centroids_dir"),
            "encoder": section("encoder", "model_path", "static_path", "onnx_cache"),
            "cache": section("cache", "path", "verifier_path"),
            "outcomes": section("outcomes", "path"),
            "training": training,
            "providers": providers,
        }
    )
