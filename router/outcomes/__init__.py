"""The routing-outcome log and its sinks (JSONL, Redis stream)."""

from router.outcomes.log import (
    JsonlSink,
    OutcomeLog,
    OutcomeSink,
    RedisStreamSink,
    read_jsonl_records,
    read_redis_records,
)

__all__ = [
    "JsonlSink",
    "OutcomeLog",
    "OutcomeSink",
    "RedisStreamSink",
    "read_jsonl_records",
    "read_redis_records",
]
