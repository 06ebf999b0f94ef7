"""The outcome log and POST /v1/feedback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.config import Config
from router.core import Router
from router.deployments import build_providers
from router.outcomes import JsonlSink, OutcomeLog, Record, read_jsonl_records
from service.app import create_app
from tests.fakes import HashingEncoder


def with_text(config: Config) -> Config:
    return config.model_copy(
        update={"outcomes": config.outcomes.model_copy(update={"include_text": True})}
    )


def client_for(config: Config) -> TestClient:
    router = Router.from_config(config, HashingEncoder(), build_providers(config, environ={}))
    return TestClient(create_app(config, router))


def test_requests_are_logged_and_feedback_is_joined_by_request_id(config: Config) -> None:
    config = with_text(config)
    chat = {"model": "auto", "messages": [{"role": "user", "content": "hi how are you"}]}
    with client_for(config) as c:
        r = c.post("/v1/chat/completions", json=chat, headers={"x-request-id": "abc-1"})
        assert r.status_code == 200
        c.post("/v1/route", json={"input": "write a python function"})
        ok = c.post(
            "/v1/feedback",
            json={
                "request_id": "abc-1",
                "rating": "bad",
                "correct_task": "code",
                "comment": "was code",
            },
        )
        assert ok.status_code == 200
        assert ok.json() == {"ok": True, "request_id": "abc-1"}
        assert (
            c.post("/v1/feedback", json={"request_id": "nope", "rating": "good"}).status_code == 404
        )
        for bad in (
            {"request_id": "abc-1", "rating": "meh"},
            {"request_id": "abc-1", "rating": "good", "correct_task": "poetry"},
            {"request_id": "", "rating": "good"},
            {"rating": "good"},
        ):
            assert c.post("/v1/feedback", json=bad).status_code == 400
    records = list(read_jsonl_records(config.outcomes.path))  # flushed at shutdown
    outcome = next(r for r in records if r.get("request_id") == "abc-1" and r["type"] == "outcome")
    assert outcome["text"] == "hi how are you"
    assert outcome["task"] == "chat" and outcome["model"] and outcome["status"] == 200
    assert set(outcome["scores"]) >= {"code", "chat"}
    assert len(outcome["text_sha256"]) == 64
    feedback = [r for r in records if r["type"] == "feedback"]
    assert feedback == [
        {**feedback[0], "request_id": "abc-1", "rating": "bad", "correct_task": "code"}
    ]
    assert any(r.get("endpoint") == "/v1/route" for r in records)


def test_text_is_only_logged_when_enabled(config: Config) -> None:
    with client_for(config) as c:
        c.post("/v1/route", json={"input": "a secret prompt"})
    record = next(read_jsonl_records(config.outcomes.path))
    assert "text" not in record
    assert record["text_sha256"]


class SlowSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def write(self, records: list[Record]) -> None:
        await asyncio.sleep(0.01)
        self.records.extend(records)

    async def aclose(self) -> None:
        return None


class BrokenSink(SlowSink):
    async def write(self, records: list[Record]) -> None:
        raise OSError("disk full")


async def test_a_full_queue_drops_and_counts_never_blocks() -> None:
    drops: list[int] = []
    log = OutcomeLog(SlowSink(), queue_size=5, on_drop=drops.append)
    for i in range(8):
        log.record({"type": "outcome", "request_id": str(i)})  # writer not started: queue fills
    assert log.dropped == 3 and sum(drops) == 3
    assert log.knows("7")  # ids are remembered even when the record is dropped
    await log.aclose()


async def test_a_failing_sink_counts_drops() -> None:
    log = OutcomeLog(BrokenSink(), queue_size=100)
    log.start()
    log.record({"type": "outcome", "request_id": "x"})
    await asyncio.sleep(0.05)
    await log.aclose()
    assert log.dropped == 1


async def test_jsonl_sink_rotates_by_size(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, max_bytes=200)
    for i in range(10):
        await sink.write([{"type": "outcome", "request_id": str(i), "pad": "x" * 50}])
    files = sorted(tmp_path.glob("*.jsonl"))  # noqa: ASYNC240 - a test, reading its own files
    assert len(files) > 1
    assert [r["request_id"] for r in read_jsonl_records(tmp_path)] == [str(i) for i in range(10)]


@pytest.mark.parametrize("enabled", [False])
def test_feedback_without_an_outcome_log_is_503(config: Config, enabled: bool) -> None:
    cfg = config.model_copy(
        update={"outcomes": config.outcomes.model_copy(update={"enabled": enabled})}
    )
    with client_for(cfg) as c:
        r = c.post("/v1/feedback", json={"request_id": "x", "rating": "good"})
    assert r.status_code == 503
