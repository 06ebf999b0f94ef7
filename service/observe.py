"""Per-request observation: Prometheus metrics from the decision and the answer, and one
structured JSON log line per request. Keys never; prompt text only when explicitly enabled."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from router.budget import usage_cost
from router.cache import Answer
from router.config import Config
from router.core import Router
from router.errors import RouterError
from router.execution import BreakerState
from router.metrics import Metrics
from router.types import Completion, Decision, PriorityClass, Usage

request_log = logging.getLogger("semroute.requests")
_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def observe_decision(metrics: Metrics, decision: Decision) -> None:
    if decision.match is not None:
        metrics.confidence.observe(decision.match.score)
        if not decision.match.confident:
            metrics.not_confident.inc()
        metrics.decided_by_encoder(decision.match.stage).inc()
        if decision.match.overload:
            metrics.overload_decided.inc()
        metrics.latency_by("embed").observe(decision.latency_ms.get("classify_ms", 0) / 1e3)
    metrics.latency_by("route").observe(decision.latency_ms.get("route_ms", 0) / 1e3)
    cache = decision.cache
    if cache is not None:
        tier = decision.budget_tier.value
        result = "skipped" if cache.skipped else "hit" if cache.hit else "miss"
        metrics.cache_by(tier, result).inc()
        if cache.refused:
            metrics.cache_refusals.labels(tier).inc(len(cache.refused))


def observe_answer(
    metrics: Metrics, config: Config, endpoint: str, answer: Answer[Completion], usage: Usage
) -> float:
    """Record an answered request; returns its cost in USD (0 for a cache hit)."""
    task = _task(answer.decision)
    metrics.requests_by(endpoint, task, answer.model, answer.provider, "ok").inc()
    for attempt in answer.attempts:
        if attempt.outcome != "ok":
            metrics.fallbacks_by(attempt.outcome).inc()
        if attempt.outcome not in ("skipped", "budget_exhausted"):
            metrics.latency_by("upstream").observe(attempt.latency_ms / 1e3)
    if answer.cached:
        return 0.0
    cost = usage_cost(config.models[answer.model], usage)
    metrics.tokens_by(answer.provider, answer.model, "prompt").inc(usage.prompt_tokens)
    metrics.tokens_by(answer.provider, answer.model, "completion").inc(usage.completion_tokens)
    metrics.cost_by(answer.provider, answer.model).inc(cost)
    return cost


def observe_error(metrics: Metrics, endpoint: str, exc: RouterError) -> None:
    metrics.requests_by(endpoint, "-", "-", "-", exc.code).inc()
    for attempt in getattr(exc, "attempts", ()):
        if getattr(attempt, "outcome", "ok") != "ok":
            metrics.fallbacks_by(attempt.outcome).inc()


def _task(decision: Decision) -> str:
    return decision.match.task if decision.match else decision.route


async def refresh_gauges(metrics: Metrics, router: Router) -> None:
    """State read at scrape time: breakers, budget, cache size, ledger fail-overs."""
    for deployment, state in (await router.breakers.states()).items():
        metrics.breaker_state.labels(deployment).set(_BREAKER_VALUE[state])
    if router.cache is not None:
        metrics.cache_entries.set(len(router.cache))
    spending = router.spending
    if spending.enabled:
        tenants = ["default", *router.config.budget.tenants]
        for tenant in tenants:
            view = await spending.view(tenant, PriorityClass.STANDARD)
            metrics.budget_remaining.labels(view.scope).set(view.remaining_fraction)
            for tier in ("quality", "balanced", "economy", "exhausted"):
                metrics.budget_tier.labels(view.scope, tier).set(float(view.tier.value == tier))
    metrics.budget_failovers.set(getattr(spending.ledger, "failovers", 0))


def log_request(
    *,
    request_id: str,
    tenant: str,
    endpoint: str,
    status: int,
    started: float,
    decision: Decision | None = None,
    answer: Answer[Completion] | None = None,
    cost: float = 0.0,
    error: str | None = None,
    prompt: str | None = None,
) -> None:
    """One JSON line per request (logger ``semroute.requests``)."""
    if not request_log.isEnabledFor(logging.INFO):
        return  # the line would be dropped: do not build it
    record: dict[str, Any] = {
        "event": "request",
        "request_id": request_id,
        "tenant": tenant,
        "endpoint": endpoint,
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1e3, 2),
    }
    if decision is not None:
        record.update(
            task=decision.match.task if decision.match else None,
            confident=decision.match.confident if decision.match else None,
            route=decision.route,
            budget_tier=decision.budget_tier.value,
            cache="hit" if decision.cache and decision.cache.hit else "miss",
        )
    if answer is not None:
        record.update(
            model=answer.model,
            provider=answer.provider,
            attempts=[[a.provider, a.model, a.outcome, a.latency_ms] for a in answer.attempts],
            cost_usd=round(cost, 8),
        )
    if error is not None:
        record["error"] = error
    if prompt is not None:
        record["prompt"] = prompt
    request_log.info(json.dumps(record, separators=(",", ":")))


class Observation:
    """One request's record: fills the middleware's log line and the metrics as it goes."""

    def __init__(self, info: dict[str, Any], metrics: Metrics, config: Config) -> None:
        self.info, self.metrics, self.config = info, metrics, config

    def caller(self, tenant: str, prompt: str | None = None) -> None:
        self.info["tenant"] = tenant
        if prompt is not None:
            self.info["prompt"] = prompt[:2000]

    def decided(self, decision: Decision) -> None:
        observe_decision(self.metrics, decision)
        self.info["decision"] = decision

    def answered(self, answer: Answer[Completion], usage: Usage) -> None:
        self.info["answer"] = answer
        self.info["tokens"] = 0 if answer.cached else usage.total_tokens  # for [limits]
        endpoint = self.info.get("endpoint", "-")
        self.info["cost"] = observe_answer(self.metrics, self.config, endpoint, answer, usage)

    def first_byte(self) -> None:
        self.metrics.latency_by("ttft").observe(time.perf_counter() - self.info["started"])

    def failed(self, exc: RouterError) -> None:
        observe_error(self.metrics, self.info.get("endpoint", "-"), exc)
        self.info["error"] = exc.code


def outcome_record(
    info: dict[str, Any],
    endpoint: str,
    include_text: bool,
    *,
    ended: float | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """The outcome-log record of one request (see router/outcomes/log.py). ``ended``
    (``perf_counter``) and ``at`` (epoch seconds) say when it finished; default now: the record
    may be built later, off the request path."""
    decision: Decision | None = info.get("decision")
    answer: Answer[Completion] | None = info.get("answer")
    prompt: str | None = info.get("prompt")
    ended = time.perf_counter() if ended is None else ended
    record: dict[str, Any] = {
        "type": "outcome",
        "request_id": info["request_id"],
        "time": datetime.fromtimestamp(time.time() if at is None else at, UTC).isoformat(
            timespec="milliseconds"
        ),
        "endpoint": endpoint,
        "tenant": info.get("tenant", "default"),
        "status": info.get("status", 499),
        "error": info.get("error"),
        "latency_ms": round((ended - info["started"]) * 1e3, 2),
        "text_sha256": hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
    }
    if include_text and prompt is not None:
        record["text"] = prompt
    if decision is not None:
        m = decision.match
        record.update(
            task=m.task if m else None,
            scores=dict(m.scores) if m else None,
            margin=m.margin if m else None,
            confident=m.confident if m else None,
            decided_by=m.stage if m else None,
            route=decision.route,
            centroid_version=decision.centroid_version,
            tier=decision.budget_tier.value,
            cache_hit=bool(decision.cache and decision.cache.hit),
            cache_similarity=decision.cache.similarity if decision.cache else None,
        )
    if answer is not None:
        usage = answer.result.usage
        record.update(
            model=answer.model,
            provider=answer.provider,
            attempts=[asdict(a) for a in answer.attempts],
            tokens={"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
            cost_usd=round(info.get("cost", 0.0), 8),
        )
    return record
