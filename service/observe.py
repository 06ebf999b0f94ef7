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

from router import Router
from router.errors import AllCandidatesFailed, ProviderError, RouterError
from router.execution import BreakerState
from router.metrics import Metrics
from router.outcomes import Attempted, OutcomeRecord, Routed
from router.types import Answer, AttemptOutcome, Completion, Decision, PriorityClass
from service.record import RequestRecord

request_log = logging.getLogger("semroute.requests")
INTERNAL_ERROR = "internal_error"  # the code of the 500 a bug is answered with
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


# Paths whose label is the path itself; the others are named by their route, so that a path a
# client makes up (/v1/models/<anything>, /admin/providers/<anything>) is never a label value.
_ENDPOINTS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/route",
        "/v1/models",
        "/v1/feedback",
    }
)


def endpoint_label(path: str) -> str:
    """The ``endpoint`` label of a request path: one of a fixed few values."""
    if path in _ENDPOINTS:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{id}"
    return "/admin" if path.startswith("/admin/") else "other"


def observe_answer(
    metrics: Metrics, endpoint: str, answer: Answer[Completion], *, counted: bool = False
) -> None:
    """Record an answered request: its final usage and cost, as the answer carries them;
    ``counted``: the request is in ``semroute_requests_total`` already (a stream that failed
    after its first byte, counted by its error code), so not again as ``ok``."""
    if not counted:
        task = _task(answer.decision)
        labels = (endpoint_label(endpoint), task, answer.model, answer.provider, "ok")
        metrics.requests_by(*labels).inc()
    for attempt in answer.attempts:
        if attempt.outcome is not AttemptOutcome.OK:
            metrics.fallbacks_by(attempt.outcome).inc()
        if attempt.outcome.called:
            metrics.latency_by("upstream").observe(attempt.latency_ms / 1e3)
    if answer.cached:
        return
    usage = answer.usage
    metrics.tokens_by(answer.provider, answer.model, "prompt").inc(usage.prompt_tokens)
    metrics.tokens_by(answer.provider, answer.model, "completion").inc(usage.completion_tokens)
    metrics.cost_by(answer.provider, answer.model).inc(answer.cost_usd)


def observe_refusal(metrics: Metrics, endpoint: str, code: str) -> None:
    """Count a failed request by its error code (a refusal, an upstream failure, a bug), without
    the labels of a decision."""
    metrics.requests_by(endpoint_label(endpoint), "-", "-", "-", code).inc()


def observe_error(metrics: Metrics, endpoint: str, exc: RouterError) -> None:
    observe_refusal(metrics, endpoint, exc.code)
    attempts = exc.attempts if isinstance(exc, ProviderError | AllCandidatesFailed) else ()
    for attempt in attempts:
        if attempt.outcome is not AttemptOutcome.OK:
            metrics.fallbacks_by(attempt.outcome).inc()


def _task(decision: Decision) -> str:
    """The classified task, or ``auto:<task>``'s; ``-`` for a named model (it had none)."""
    return decision.match.task if decision.match else decision.task or "-"


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
    metrics.budget_failovers.set(spending.ledger.failovers)


def log_request(
    *,
    request_id: str,
    tenant: str,
    endpoint: str,
    status: int,
    started: float,
    decision: Decision | None = None,
    answer: Answer[Completion] | None = None,
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
            cost_usd=round(answer.cost_usd, 8),
        )
    if error is not None:
        record["error"] = error
    if prompt is not None:
        record["prompt"] = prompt
    request_log.info(json.dumps(record, separators=(",", ":")))


class Observation:
    """One request's record: fills the middleware's log line and the metrics as it goes."""

    def __init__(self, record: RequestRecord, metrics: Metrics) -> None:
        self.record, self.metrics = record, metrics

    def caller(self, tenant: str, prompt: str | None = None) -> None:
        self.record.tenant = tenant
        if prompt is not None:
            self.record.prompt = prompt[:2000]

    def decided(self, decision: Decision) -> None:
        observe_decision(self.metrics, decision)
        self.record.decision = decision

    def routed(self, decision: Decision) -> None:
        """A /v1/route answer: counted ``ok`` once, labelled with the decision's task and its
        first candidate (``-`` where there is none)."""
        if self.record.counted:
            return
        first = decision.candidates[0] if decision.candidates else None
        labels = (
            endpoint_label(self.record.endpoint),
            _task(decision),
            first.model if first else "-",
            first.provider if first else "-",
            "ok",
        )
        self.metrics.requests_by(*labels).inc()
        self.record.counted = True

    def answered(self, answer: Answer[Completion]) -> None:
        """Record the answer, final: after a stream, the session's answer once closed (counted
        as ``ok`` unless the request failed, and was counted so, first: a stream cut off, a
        reply that cannot be built from the answer)."""
        self.record.answer = answer
        self.record.tokens = 0 if answer.cached else answer.usage.total_tokens  # for [limits]
        observe_answer(self.metrics, self.record.endpoint, answer, counted=self.record.counted)
        self.record.counted = True

    def first_byte(self) -> None:
        self.metrics.latency_by("ttft").observe(time.perf_counter() - self.record.started)

    def failed(self, exc: RouterError) -> None:
        """Count the request by ``exc``'s code, unless it is counted already (it failed, and
        was counted so, before the handler that answers the error saw it)."""
        if not self.record.counted:
            observe_error(self.metrics, self.record.endpoint, exc)
            self.record.counted = True
        self.record.error = exc.code

    def crashed(self) -> None:
        """A bug ended the request (a stream past its first byte): counted ``internal_error``,
        as the 500 the error handlers give one that has not started."""
        if not self.record.counted:
            self.record.error = INTERNAL_ERROR
            self.record.counted = True
            observe_refusal(self.metrics, self.record.endpoint, INTERNAL_ERROR)


def outcome_record(
    request: RequestRecord,
    include_text: bool,
    *,
    ended: float | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """The outcome-log record of one request (router.outcomes.OutcomeRecord, as JSON).
    ``ended`` (``perf_counter``) and ``at`` (epoch seconds) say when it finished; default now:
    the record may be built later, off the request path."""
    decision, answer, prompt = request.decision, request.answer, request.prompt
    ended = time.perf_counter() if ended is None else ended
    routed = answered = None
    if decision is not None:
        m = decision.match
        routed = Routed(
            route=decision.route,
            task=m.task if m else None,
            scores=dict(m.scores) if m else None,
            margin=m.margin if m else None,
            confident=m.confident if m else None,
            decided_by=m.stage if m else None,
            centroid_version=decision.centroid_version,
            tier=decision.budget_tier.value,
            cache_hit=bool(decision.cache and decision.cache.hit),
            cache_similarity=decision.cache.similarity if decision.cache else None,
        )
    if answer is not None:
        answered = Attempted(
            model=answer.model,
            provider=answer.provider,
            attempts=tuple(asdict(a) for a in answer.attempts),
            prompt_tokens=answer.usage.prompt_tokens,
            completion_tokens=answer.usage.completion_tokens,
            cost_usd=round(answer.cost_usd, 8),
        )
    return OutcomeRecord(
        request_id=request.request_id,
        time=datetime.fromtimestamp(time.time() if at is None else at, UTC).isoformat(
            timespec="milliseconds"
        ),
        endpoint=request.endpoint,
        tenant=request.tenant,
        status=request.status if request.status is not None else 499,
        error=request.error,
        latency_ms=round((ended - request.started) * 1e3, 2),
        text_sha256=hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
        text=prompt if include_text and prompt is not None else None,
        routed=routed,
        answered=answered,
    ).to_json()
