"""The outcome log and POST /v1/feedback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router import Router
from router.config.settings import Config
from router.execution.deployments import build_providers
from router.outcomes.log import JsonlSink, OutcomeLog, Record, read_jsonl_records
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


class BatchSink(SlowSink):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def write(self, records: list[Record]) -> None:
        self.batches.append(len(records))
        self.records.extend(records)


def outcome(request_id: str) -> Callable[[], Record]:
    return lambda: {"type": "outcome", "request_id": request_id}


async def test_records_close_together_go_out_in_one_write() -> None:
    sink = BatchSink()
    log = OutcomeLog(sink, linger_s=0.2)
    log.start()
    for i in range(5):
        log.record_later(str(i), outcome(str(i)))
        await asyncio.sleep(0.001)
    assert all(log.knows(str(i)) for i in range(5))  # before anything is written
    await log.aclose()
    assert sink.batches == [5]
    assert [r["request_id"] for r in sink.records] == ["0", "1", "2", "3", "4"]


async def test_a_record_that_cannot_be_built_is_counted_and_the_rest_written() -> None:
    def broken() -> Record:
        raise ValueError("bad record")

    sink = BatchSink()
    log = OutcomeLog(sink, linger_s=0.01)
    log.start()
    log.record_later("a", broken)
    log.record_later("b", outcome("b"))
    await log.aclose()
    assert log.dropped == 1
    assert [r["request_id"] for r in sink.records] == ["b"]


async def test_jsonl_sink_rotates_by_size(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path, max_bytes=200)
    for i in range(10):
        await sink.write([{"type": "outcome", "request_id": str(i), "pad": "x" * 50}])
    files = sorted(tmp_path.glob("*.jsonl"))  # noqa: ASYNC240 - a test, reading its own files
    assert len(files) > 1
    assert [r["request_id"] for r in read_jsonl_records(tmp_path)] == [str(i) for i in range(10)]


async def test_jsonl_sink_starts_a_file_per_day_and_continues_the_last_one(
    tmp_path: Path,
) -> None:
    now = [datetime(2026, 1, 1, 23, 59, tzinfo=UTC)]
    sink = JsonlSink(tmp_path, clock=lambda: now[0])
    await sink.write([{"request_id": "a"}])
    await sink.write([{"request_id": "b"}])
    now[0] = datetime(2026, 1, 2, 0, 1, tzinfo=UTC)
    await sink.write([{"request_id": "c"}])
    again = JsonlSink(tmp_path, clock=lambda: now[0])  # a restart appends to the day's file
    await again.write([{"request_id": "d"}])
    names = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 - a test's own files
    assert names == ["outcomes-20260101-000.jsonl", "outcomes-20260102-000.jsonl"]
    ids = [r["request_id"] for r in read_jsonl_records(tmp_path / names[1])]
    assert ids == ["c", "d"]


@pytest.mark.parametrize("enabled", [False])
def test_feedback_without_an_outcome_log_is_503(config: Config, enabled: bool) -> None:
    cfg = config.model_copy(
        update={"outcomes": config.outcomes.model_copy(update={"enabled": enabled})}
    )
    with client_for(cfg) as c:
        r = c.post("/v1/feedback", json={"request_id": "x", "rating": "good"})
    assert r.status_code == 503


def test_a_streamed_answer_is_logged_with_its_tokens_and_cost(config: Config) -> None:
    chat = {
        "model": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "write a python function to fix this bug"}],
    }
    with client_for(config) as c:
        r = c.post("/v1/chat/completions", json=chat, headers={"x-request-id": "stream-1"})
        assert r.status_code == 200
        events = [line[6:] for line in r.text.splitlines() if line.startswith("data: {")]
    usage = json.loads(events[-1])["usage"]  # the usage chunk the client received
    assert usage["completion_tokens"] > 0
    records = list(read_jsonl_records(config.outcomes.path))
    outcome = next(r for r in records if r.get("request_id") == "stream-1")
    assert outcome["tokens"] == {
        "prompt": usage["prompt_tokens"],
        "completion": usage["completion_tokens"],
    }
    spec = config.models[outcome["model"]]
    expected = (
        usage["prompt_tokens"] * spec.input_price + usage["completion_tokens"] * spec.output_price
    ) / 1e6
    assert outcome["cost_usd"] == pytest.approx(expected, rel=1e-6)
    assert outcome["cost_usd"] > 0
