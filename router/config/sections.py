"""The sections of semroute.toml: one frozen pydantic model each (unknown keys rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from router.types import BudgetTier, Capability, ModelTier, Priority, PriorityClass

PositiveInt = Annotated[int, Field(gt=0)]
Price = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceConfig(_Model):
    """HTTP limits: each one is a clear 4xx (413, 400, 429 with Retry-After, 504)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    max_body_bytes: PositiveInt = 1_000_000
    max_messages: PositiveInt = 512
    max_tokens: PositiveInt = 32_768  # a request's max_tokens above this → 400
    request_timeout_s: Annotated[float, Field(gt=0)] = 300.0  # until the first byte of the answer
    max_concurrent: PositiveInt = 256  # in-flight requests; beyond → 429 + Retry-After
    shutdown_grace_s: Annotated[float, Field(ge=0)] = 30.0  # in-flight requests may finish
    log_prompts: bool = False  # put prompt text in the request log (off: only a hash)
    # The event loop uvicorn serves on. "asyncio" (the standard library's) by default: at
    # concurrency 64 uvloop was ~10 % faster at the median but served connections unevenly
    # (p99 twice its p50; the first request of a new connection could wait seconds behind
    # kept-alive ones), see bench/RESULTS.md ("HTTP /v1/route").
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"


_SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ClientKey(_Model):
    """One client API key, stored as the sha256 hex digest of the key (never the key)."""

    name: str = Field(min_length=1, max_length=64)
    sha256: _SHA256
    tenant: str = Field(default="default", min_length=1, max_length=64)
    priority: PriorityClass = PriorityClass.STANDARD  # used when no x-semroute-priority header
    allowed_priorities: list[PriorityClass] = Field(
        default_factory=lambda: [PriorityClass.STANDARD, PriorityClass.LOW]
    )
    allowed_models: list[str] = Field(default_factory=list)  # empty: every model
    daily_usd: Annotated[float, Field(gt=0)] | None = None  # this key's own daily budget
    # This key's own rate limits ([limits] per_key applies to keys without them).
    requests_per_minute: PositiveInt | None = None
    tokens_per_minute: PositiveInt | None = None


class AuthConfig(_Model):
    """Client keys → tenants. ``enabled = false`` (the embedded default) serves anyone: for
    local development only. The admin API needs ``admin_key_sha256``; without it, it is off."""

    enabled: bool = False
    keys: list[ClientKey] = Field(default_factory=list)
    admin_key_sha256: _SHA256 | None = None

    def key_budgets(self) -> dict[str, float]:
        """Key name → its own daily USD, for the keys that have one (``daily_usd``)."""
        return {k.name: k.daily_usd for k in self.keys if k.daily_usd}


class RoutingConfig(_Model):
    """``models``: the catalogue-wide model list, in preference order. A task without its own
    ``models`` (and ``default_route`` when unset) inherits it; when it is set, every task's
    list is narrowed to it (a list left empty inherits it), so one edit sends ``auto`` to one
    model. Unset: the whole catalogue, in the order it is written, and no narrowing."""

    centroids_dir: Path = Path("centroids")
    centroid_version: str | None = None
    models: list[str] | None = None
    default_route: Annotated[list[str], Field(min_length=1)]
    default_priority: Priority = Priority.QUALITY
    watch_current_s: Annotated[float, Field(ge=0)] = 10.0  # poll CURRENT; 0 = only admin reload


class DeploymentConfig(_Model):
    """One (provider, upstream model) that can serve a catalogue model."""

    provider: str
    upstream: str | None = None  # default: the model's upstream name
    weight: Annotated[float, Field(gt=0)] = 1.0


class ModelConfig(_Model):
    """One catalogue model. Prices are USD per 1M tokens.

    ``cached_input_price`` is paid for prompt tokens read from the provider's prompt cache and
    ``cache_write_price`` for those written to it; unset, both are the input price, except on
    Anthropic providers: 0.1× and 1.25× the input price (Anthropic's published multipliers).

    ``deployments`` lists several (provider, upstream) pairs to balance between; without it
    the model has one deployment, ``provider`` / ``upstream``. ``alternates`` are the fallbacks
    used when a client names this model explicitly.
    """

    provider: str
    upstream: str
    input_price: Price
    output_price: Price
    cached_input_price: Price | None = None
    cache_write_price: Price | None = None
    latency_ms: Annotated[float, Field(ge=0)] = 1000.0
    tier: ModelTier = ModelTier.STANDARD
    context_window: PositiveInt = 8192
    capabilities: frozenset[Capability] = frozenset()
    quality: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    alternates: list[str] = Field(default_factory=list)

    @property
    def cache_read_price(self) -> float:
        return self.input_price if self.cached_input_price is None else self.cached_input_price

    @property
    def cache_written_price(self) -> float:
        return self.input_price if self.cache_write_price is None else self.cache_write_price

    def all_deployments(self) -> list[DeploymentConfig]:
        if self.deployments:
            return [
                d if d.upstream else d.model_copy(update={"upstream": self.upstream})
                for d in self.deployments
            ]
        return [DeploymentConfig(provider=self.provider, upstream=self.upstream)]


class TaskConfig(_Model):
    models: Annotated[list[str], Field(min_length=1)]  # empty in the TOML: routing.models
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


class OutcomesConfig(_Model):
    """The routing-outcome log (training data for the next centroids)."""

    enabled: bool = True
    sink: Literal["jsonl", "redis"] = "jsonl"
    path: Path = Path("var/outcomes")  # jsonl: one file per UTC day (and per max_file_bytes)
    include_text: bool = False  # store the prompt text (needed to retrain from the logs)
    max_file_bytes: PositiveInt = 50_000_000
    queue_size: PositiveInt = 10_000
    recent_ids: PositiveInt = 200_000  # request ids kept in memory for POST /v1/feedback


class TrainingConfig(_Model):
    """Retraining from logs and the promotion gate."""

    weak_label_weight: Annotated[float, Field(ge=0, le=1)] = 0.3  # good-rated confident routes
    max_recall_drop: Annotated[float, Field(ge=0, le=1)] = 0.05  # per task, vs the live version
    # The gate compares candidate and live version on rows neither was fitted on: these files
    # (never trained on) plus the held-out feedback rows of the run.
    gate_data: list[Path] = Field(
        default_factory=lambda: [
            Path("training/data/eval_written.jsonl"),
            Path("training/data/realistic_holdout.jsonl"),
        ]
    )


class RedisConfig(_Model):
    """Shared state for replicas (budget, cache, breakers, rate limits). No ``url`` → everything
    in-process. The URL may hold a password: it is a secret (masked in ``config show``)."""

    url: SecretStr | None = None
    key_prefix: str = "semroute"
    fail_mode: Literal["open", "closed"] = "open"  # Redis down: local ledger, or 503
    socket_timeout_s: Annotated[float, Field(gt=0)] = 0.5

    def address(self) -> str | None:
        """The URL itself (for the Redis clients only: never log it)."""
        return None if self.url is None else self.url.get_secret_value()


class BudgetConfig(_Model):
    """Daily spend limit in USD. ``daily_usd`` 0 → no budget (always the quality tier)."""

    daily_usd: Annotated[float, Field(ge=0)] = 0.0
    tenants: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    reset_hour_utc: Annotated[int, Field(ge=0, le=23)] = 0
    reserve_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.05
    quality_above: Annotated[float, Field(gt=0, lt=1)] = 0.8
    economy_below: Annotated[float, Field(gt=0, lt=1)] = 0.2
    hysteresis: Annotated[float, Field(ge=0, lt=0.2)] = 0.02
    # A hold not settled in time (its replica crashed) stops counting: the budget comes back.
    hold_lease_s: Annotated[float, Field(gt=0)] = 600.0


def _default_cache_thresholds() -> dict[BudgetTier, float]:
    # the retrieval cosines the shipped cross-encoder was calibrated with (its manifest)
    return {
        BudgetTier.QUALITY: 0.85,
        BudgetTier.BALANCED: 0.85,
        BudgetTier.ECONOMY: 0.80,
        BudgetTier.EXHAUSTED: 0.80,
    }


# With ``verify = false`` nothing but the cosine decides: it must be as strict as it was before
# there was a verifier (README "Cache safety": cosine alone is never a safe cache at 0.85).
UNVERIFIED_MINIMUM = {
    BudgetTier.QUALITY: 0.96,
    BudgetTier.BALANCED: 0.94,
    BudgetTier.ECONOMY: 0.90,
    BudgetTier.EXHAUSTED: 0.85,
}


class CacheConfig(_Model):
    """Semantic cache. Thresholds are cosine similarities per budget tier (never below
    ``floor``) that make a neighbour a candidate; a hit must also pass verification
    (``verify``): with ``verifier = "cross"`` the cross-encoder's probability must reach the
    tier's decision threshold (the model's manifest, or ``decide``); ``"lexical"`` is the
    older guards + logistic regression, one decision threshold for all tiers."""

    enabled: bool = True
    path: Path = Path("var/cache")  # embedded mode: snapshot directory
    thresholds: dict[BudgetTier, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=_default_cache_thresholds
    )
    floor: Annotated[float, Field(gt=0, le=1)] = 0.80
    task_thresholds: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(default_factory=dict)
    verify: bool = True
    verifier: Literal["cross", "lexical"] = "cross"
    verifier_path: Path | None = None  # default: the verifier bundled with semroute
    decide: dict[BudgetTier, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    verify_candidates: PositiveInt = 2  # neighbours verified per lookup (each: one model call)
    ttl_s: Annotated[float, Field(gt=0)] = 86_400.0
    max_entries: PositiveInt = 100_000
    hnsw_after: PositiveInt = 10_000  # flat search costs ~0.065 ms per 1k entries (memory-bound)
    hnsw_m: Annotated[int, Field(ge=4, le=128)] = 32
    hnsw_ef_construction: Annotated[int, Field(ge=8, le=1024)] = 40
    hnsw_ef_search: Annotated[int, Field(ge=4, le=1024)] = 64
    snapshot_interval_s: Annotated[float, Field(gt=0)] = 300.0

    def threshold(self, tier: BudgetTier, task: str | None) -> float:
        base = self.thresholds.get(tier, _default_cache_thresholds()[tier])
        if task is not None and task in self.task_thresholds:
            base = max(base, self.task_thresholds[task])
        if not self.verify:  # the retrieval cosine alone would decide: keep it strict
            base = max(base, UNVERIFIED_MINIMUM[tier])
        return max(base, self.floor)
