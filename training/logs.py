"""Training examples from the outcome log: feedback corrections, and good ratings as weak labels.

Only outcomes logged with their text (``outcomes.include_text = true``) can become examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from router.errors import InvalidRequest
from router.outcomes import (
    FeedbackRecord,
    OutcomeRecord,
    parse_record,
    read_jsonl_records,
    read_redis_records,
)
from training.dataset import TASKS, Dataset, Example


def examples_from_outcomes(
    records: Iterable[Mapping[str, Any]], *, weak_weight: float
) -> tuple[list[Example], dict[str, int]]:
    """(examples, counts): a correction labels its request's text with the corrected task; a
    ``good`` rating of a confident route is a weak label (weight ``weak_weight``)."""
    outcomes: dict[str, OutcomeRecord] = {}
    feedback: dict[str, FeedbackRecord] = {}
    for raw in records:
        record = parse_record(raw)
        if isinstance(record, OutcomeRecord):
            outcomes[record.request_id] = record
        elif isinstance(record, FeedbackRecord):
            feedback[record.request_id] = record  # the latest feedback for a request wins
    counts: Counter[str] = Counter(outcomes=len(outcomes), feedback=len(feedback))
    examples: list[Example] = []
    for rid, fb in feedback.items():
        outcome = outcomes.get(rid)
        text = outcome.text if outcome else None
        if text is None or not text.strip():
            counts["skipped_no_text"] += 1
            continue
        routed = outcome.routed if outcome else None
        corrected, task = fb.correct_task, routed.task if routed else None
        if corrected in TASKS:
            examples.append(Example(text, str(corrected), "feedback", group=rid, weight=1.0))
            counts["corrections"] += 1
        elif fb.rating == "good" and routed and routed.confident and task in TASKS:
            examples.append(Example(text, str(task), "weak", group=rid, weight=weak_weight))
            counts["weak_labels"] += 1
        else:
            counts["skipped_unlabelled"] += 1
    return examples, dict(counts)


def read_outcomes(source: str, *, key_prefix: str = "semroute") -> Iterable[dict[str, Any]]:
    """Records from a JSONL file or directory, or from a ``redis://`` outcome stream.

    Raises:
        InvalidRequest: a path that does not exist.
    """
    if source.startswith(("redis://", "rediss://", "unix://")):
        return read_redis_records(source, f"{key_prefix}:outcomes")
    path = Path(source)
    if not path.exists():
        raise InvalidRequest(f"outcome log not found: {path}", param="from-logs")
    return read_jsonl_records(path)


def add_log_examples(
    dataset: Dataset, sources: Iterable[str], *, weak_weight: float, key_prefix: str
) -> dict[str, int]:
    """Append the examples the outcome logs yield to ``dataset``; returns what was found."""
    totals: Counter[str] = Counter()
    for source in sources:
        examples, counts = examples_from_outcomes(
            read_outcomes(source, key_prefix=key_prefix), weak_weight=weak_weight
        )
        dataset.examples.extend(examples)
        dataset.files.append({"path": source, "rows": len(examples), "from_logs": counts})
        totals.update(counts)
    return dict(totals)
