"""Typed configuration (semroute.toml): pydantic models, frozen, unknown keys rejected.

``load_config()`` reads a TOML file (or the embedded default) once; the result is passed
explicitly to whoever needs it. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

from router.config.encoder import CascadeConfig, ContextConfig, EncoderConfig
from router.config.sections import (
    RETRYABLE_CODES,
    AuthConfig,
    BreakerConfig,
    BudgetConfig,
    CacheConfig,
    ClientKey,
    DeploymentConfig,
    ExecutionConfig,
    ModelConfig,
    OutcomesConfig,
    ProviderConfig,
    RedisConfig,
    RetryPolicy,
    RoutingConfig,
    ServiceConfig,
    TaskConfig,
    TrainingConfig,
    _Model,
)
from router.errors import ConfigError

__all__ = [
    "RETRYABLE_CODES",
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
    "ModelConfig",
    "OutcomesConfig",
    "ProviderConfig",
    "RedisConfig",
    "RetryPolicy",
    "RoutingConfig",
    "ServiceConfig",
    "TaskConfig",
    "TrainingConfig",
    "load_config",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
DEFAULT_TASKS = ("code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract")


class Config(_Model):
    service: ServiceConfig = ServiceConfig()
    auth: AuthConfig = AuthConfig()
    encoder: EncoderConfig = EncoderConfig()
    context: ContextConfig = ContextConfig()
    routing: RoutingConfig
    execution: ExecutionConfig = ExecutionConfig()
    budget: BudgetConfig = BudgetConfig()
    cache: CacheConfig = CacheConfig()
    redis: RedisConfig = RedisConfig()
    outcomes: OutcomesConfig = OutcomesConfig()
    training: TrainingConfig = TrainingConfig()
    providers: dict[str, ProviderConfig]
    models: Annotated[dict[str, ModelConfig], Field(min_length=1)]
    tasks: Annotated[dict[str, TaskConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _references_resolve(self) -> Config:
        for name, model in self.models.items():
            for provider in {model.provider, *(d.provider for d in model.deployments)}:
                if provider not in self.providers:
                    raise ValueError(
                        f"models.{name}: unknown provider {provider!r}; "
                        f"expected one of {sorted(self.providers)}"
                    )
        lists = {f"tasks.{t}.models": c.models for t, c in self.tasks.items()}
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


def _format_validation(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    more = f" (and {len(exc.errors()) - 1} more error(s))" if len(exc.errors()) > 1 else ""
    got = f"; got {err.get('input')!r}" if key else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    return key, f"{message}{got}{more}"


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def load_config(path: Path | None = None) -> Config:
    """Load and validate semroute.toml; ``None`` → the embedded default configuration.

    Relative paths resolve against the config file's directory (the project root for the
    embedded default).

    Raises:
        ConfigError: the file is missing, is not TOML, or does not validate.
    """
    source = path or DEFAULT_CONFIG
    base = source.resolve().parent if path is not None else PROJECT_ROOT
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=source) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=source) from exc
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        key, message = _format_validation(exc)
        raise ConfigError(message, path=source, key=key) from exc
    return _with_absolute_paths(config, base)


def _with_absolute_paths(config: Config, base: Path) -> Config:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else _resolve(path, base)

    return config.model_copy(
        update={
            "routing": config.routing.model_copy(
                update={"centroids_dir": absolute(config.routing.centroids_dir)}
            ),
            "encoder": config.encoder.model_copy(
                update={
                    "model_path": absolute(config.encoder.model_path),
                    "static_path": absolute(config.encoder.static_path),
                    "onnx_cache": absolute(config.encoder.onnx_cache),
                }
            ),
            "cache": config.cache.model_copy(
                update={
                    "path": absolute(config.cache.path),
                    "verifier_path": absolute(config.cache.verifier_path),
                }
            ),
            "outcomes": config.outcomes.model_copy(update={"path": absolute(config.outcomes.path)}),
            "training": config.training.model_copy(
                update={"gate_data": [_resolve(p, base) for p in config.training.gate_data]}
            ),
        }
    )
