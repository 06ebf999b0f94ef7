"""The routing-outcome log: its record types (what is written, what training reads back) and
its sinks (JSONL, Redis stream)."""

from router.outcomes.log import (
    JsonlSink,
    OutcomeLog,
    OutcomeSink,
    RedisStreamSink,
    read_jsonl_records,
    read_redis_records,
)
from router.outcomes.record import (
    Attempted,
    FeedbackRecord,
    OutcomeRecord,
    Routed,
    parse_record,
)

__all__ = [
    "Attempted",
    "FeedbackRecord",
    "JsonlSink",
    "OutcomeLog",
    "OutcomeRecord",
    "OutcomeSink",
    "RedisStreamSink",
    "Routed",
    "parse_record",
    "read_jsonl_records",
    "read_redis_records",
]
