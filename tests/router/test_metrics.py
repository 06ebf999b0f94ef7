"""Cached labelled children count into the same series as ``labels()``."""

from __future__ import annotations

from router.metrics import Metrics


def test_cached_children_are_the_labelled_series() -> None:
    metrics = Metrics()
    metrics.requests_by("/v1/route", "code", "m", "p", "ok").inc()
    metrics.requests_by("/v1/route", "code", "m", "p", "ok").inc()
    metrics.requests.labels("/v1/route", "code", "m", "p", "ok").inc()
    metrics.latency_by("total").observe(0.002)
    assert metrics.requests_by("/v1/route", "code", "m", "p", "ok") is metrics.requests_by(
        "/v1/route", "code", "m", "p", "ok"
    )
    value = metrics.registry.get_sample_value(
        "semroute_requests_total",
        {"endpoint": "/v1/route", "task": "code", "model": "m", "provider": "p", "status": "ok"},
    )
    assert value == 3
    count = metrics.registry.get_sample_value("semroute_latency_seconds_count", {"stage": "total"})
    assert count == 1
