"""The outcome-log record types: what the service writes is what training reads back."""

from __future__ import annotations

from router.outcomes import Attempted, FeedbackRecord, OutcomeRecord, Routed, parse_record

FULL = OutcomeRecord(
    request_id="r1",
    time="2026-12-02T07:00:00.000+00:00",
    endpoint="/v1/chat/completions",
    tenant="acme",
    status=200,
    latency_ms=12.5,
    text_sha256="ab" * 32,
    text="write a python function",
    routed=Routed(
        route="code",
        task="code",
        scores={"code": 0.8, "chat": 0.1},
        margin=0.7,
        confident=True,
        decided_by="static",
        centroid_version="v1",
        tier="quality",
        cache_similarity=0.5,
    ),
    answered=Attempted(
        model="gpt-4o-mini",
        provider="openai",
        attempts=({"model": "gpt-4o-mini", "outcome": "ok"},),
        prompt_tokens=10,
        completion_tokens=20,
        cost_usd=1.5e-5,
    ),
)


def test_an_outcome_reads_back_as_written() -> None:
    assert parse_record(FULL.to_json()) == FULL
    bare = OutcomeRecord(request_id="r2", time="t", endpoint="/v1/route")
    assert parse_record(bare.to_json()) == bare
    assert set(bare.to_json()) == {
        "type",
        "request_id",
        "time",
        "endpoint",
        "tenant",
        "status",
        "error",
        "latency_ms",
        "text_sha256",
    }


def test_feedback_reads_back_as_written() -> None:
    fb = FeedbackRecord(request_id="r1", time="t", rating="bad", correct_task="math")
    assert parse_record(fb.to_json()) == fb


def test_reading_is_lenient() -> None:
    assert parse_record({"type": "outcome"}) is None  # no request id
    assert parse_record({"type": "outcome", "request_id": 7}) is None
    assert parse_record({"type": "other", "request_id": "x"}) is None
    odd = parse_record(
        {"type": "outcome", "request_id": "x", "route": "chat", "confident": "yes", "status": "?"}
    )
    assert isinstance(odd, OutcomeRecord)
    assert odd.routed is not None and odd.routed.confident is None
    assert odd.status == 499
