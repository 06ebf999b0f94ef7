"""Every Prometheus collector semroute exports, in one place, on one registry (no globals).

Label values are bounded: tasks, catalogue models, configured providers and deployments,
budget tiers and scopes, error codes. Never user text, request ids or keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:  # metrics is imported by everything; it imports nothing of the router's
    from router.classify import QualityCheck

M = TypeVar("M", Counter, Gauge, Histogram)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
RATIO_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 10.0)


class Children(Generic[M]):
    """The labelled children of one collector, kept: ``labels()`` validates the values and
    takes a lock on every call, which adds up on the request path. Label values are bounded
    (see above), so the cache is too."""

    def __init__(self, parent: M) -> None:
        self.parent: M = parent
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.parent.labels(*values)
        return child


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "semroute_requests",
            "Requests answered, by task, model, provider and status",
            ["endpoint", "task", "model", "provider", "status"],
            registry=r,
        )
        self.confidence = Histogram(
            "semroute_routing_confidence",
            "Top task score of classified requests",
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.not_confident = Counter(
            "semroute_routing_not_confident", "Requests sent to the default route", registry=r
        )
        self.decided_by = Counter(
            "semroute_routing_decided",
            "Classified requests by the encoder that decided: the cascade's static first stage, "
            "the multilingual stage or the transformer",
            ["encoder"],
            registry=r,
        )
        self.overload_decided = Counter(
            "semroute_routing_overload",
            "Requests the static stage decided only because the next encoder was busy: its queue "
            "long, its predicted wait long, or the request past max_wait_ms ([encoder.cascade])",
            registry=r,
        )
        self.fallbacks = Counter(
            "semroute_fallbacks",
            "Failed or skipped attempts before an answer, by reason",
            ["reason"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "semroute_breaker_state",
            "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open",
            ["deployment"],
            registry=r,
        )
        self.cache = Counter(
            "semroute_cache_lookups",
            "Cache lookups by budget tier and result (hit, miss, skipped)",
            ["tier", "result"],
            registry=r,
        )
        self.cache_refusals = Counter(
            "semroute_cache_verification_refusals",
            "Near neighbours over the threshold that verification refused",
            ["tier"],
            registry=r,
        )
        self.cache_entries = Gauge("semroute_cache_entries", "Entries in the cache", registry=r)
        self.latency = Histogram(
            "semroute_latency_seconds",
            "Latency by stage: embed (classification), route, upstream (per attempt), total, ttft",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "semroute_tokens",
            "Tokens by provider, model and kind (prompt, completion)",
            ["provider", "model", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "semroute_cost_usd",
            "Spend in USD by provider and model",
            ["provider", "model"],
            registry=r,
        )
        self.budget_remaining = Gauge(
            "semroute_budget_remaining_ratio",
            "Fraction of the day's budget left, by scope",
            ["scope"],
            registry=r,
        )
        self.budget_tier = Gauge(
            "semroute_budget_tier",
            "1 for the scope's current budget tier",
            ["scope", "tier"],
            registry=r,
        )
        self.estimate_error = Histogram(
            "semroute_cost_estimate_ratio",
            "Actual cost / estimated cost of settled calls",
            buckets=RATIO_BUCKETS,
            registry=r,
        )
        self.budget_failovers = Gauge(
            "semroute_budget_ledger_failovers",
            "Budget operations served by the local ledger because Redis was unreachable",
            registry=r,
        )
        self.outcome_drops = Counter(
            "semroute_outcome_log_dropped",
            "Outcome records dropped (queue full or sink down)",
            registry=r,
        )
        self.in_flight = Gauge("semroute_requests_in_flight", "Requests being served", registry=r)
        self.rejected = Counter(
            "semroute_requests_rejected",
            "Requests refused before routing, by reason",
            ["reason"],
            registry=r,
        )
        self.artifact_check = Gauge(
            "semroute_artifact_check_passed",
            "1 when an encoder file built or loaded on this machine routes the hold-out within "
            "tolerance of the recorded figure; 0: it is off (cascade off, or float ONNX served)",
            ["artifact"],
            registry=r,
        )
        self.artifact_macro_f1 = Gauge(
            "semroute_artifact_holdout_macro_f1",
            "Hold-out macro-F1 of an encoder file with its centroids, as checked at start",
            ["artifact"],
            registry=r,
        )
        # Cached children of the collectors every request touches.
        self.requests_by = Children(self.requests)
        self.fallbacks_by = Children(self.fallbacks)
        self.cache_by = Children(self.cache)
        self.decided_by_encoder = Children(self.decided_by)
        self.latency_by = Children(self.latency)
        self.tokens_by = Children(self.tokens)
        self.cost_by = Children(self.cost)

    def observe_check(self, check: QualityCheck) -> None:
        """Show an encoder file's hold-out check (router.classify.quality_check)."""
        self.artifact_check.labels(check.artifact).set(1 if check.passed else 0)
        self.artifact_macro_f1.labels(check.artifact).set(check.macro_f1)
