"""Router metrics: accuracy, macro-F1, per-task P/R/F1, confusion matrix, unknown rate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.classify import (
    PASSAGE_TASKS,
    CentroidSet,
    FirstStage,
    MultilingualStage,
    find_instruction,
    reads_as_english,
)
from router.encoders import Encoder
from router.types import TaskMatch
from training.embed import embed_examples
from training.slices import routed_report


@dataclass(frozen=True, slots=True)
class TaskStats:
    precision: float
    recall: float
    f1: float
    support: int


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_report(
    truth: Sequence[str], predicted: Sequence[str], tasks: Sequence[str]
) -> tuple[dict[str, TaskStats], dict[str, dict[str, int]]]:
    """Per-task stats and the confusion matrix (``confusion[true][predicted]``)."""
    confusion = {t: dict.fromkeys(tasks, 0) for t in tasks}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    stats: dict[str, TaskStats] = {}
    for task in tasks:
        tp = confusion[task][task]
        support = sum(confusion[task].values())
        predicted_n = sum(confusion[t][task] for t in tasks)
        precision, recall = _ratio(tp, predicted_n), _ratio(tp, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        stats[task] = TaskStats(precision, recall, f1, support)
    return stats, confusion


def macro_f1(stats: dict[str, TaskStats]) -> float:
    """Mean F1 over the tasks that occur in the data (support > 0)."""
    present = [s.f1 for s in stats.values() if s.support > 0]
    return sum(present) / len(present) if present else 0.0


def evaluate_matches(
    truth: Sequence[str], matches: Sequence[TaskMatch], tasks: Sequence[str]
) -> dict[str, Any]:
    """The evaluation report as plain data (what ``semroute eval --json`` prints).

    The predicted task is the top-scoring one whether or not it is confident; ``unknown_rate``
    is the share of rows the router would send to the default route instead.
    """
    predicted = [m.task for m in matches]
    stats, confusion = classification_report(truth, predicted, tasks)
    n = len(truth)
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    unknown = sum(not m.confident for m in matches)
    confident_correct = sum(
        m.confident and t == m.task for t, m in zip(truth, matches, strict=True)
    )
    return {
        "n": n,
        "accuracy": round(_ratio(correct, n), 4),
        "macro_f1": round(macro_f1(stats), 4),
        "unknown_rate": round(_ratio(unknown, n), 4),
        "confident_accuracy": round(_ratio(confident_correct, n - unknown), 4),
        "per_task": {
            t: {
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "support": s.support,
            }
            for t, s in stats.items()
        },
        "confusion": confusion,
    }


def classify_texts(
    texts: Sequence[str],
    encoder: Encoder,
    centroids: CentroidSet,
    first_stage: FirstStage | None = None,
    multilingual: MultilingualStage | None = None,
    *,
    progress: bool = True,
) -> list[TaskMatch]:
    """Classify single-message texts as the router would (router/classify/classifier.py):
    English through the static first stage (but for passage-shaped prompts it would send to
    a passage task), what the multilingual stage takes (and those) there, the transformer
    for the rest."""
    out: list[TaskMatch | None] = [None] * len(texts)
    english = [reads_as_english(t) for t in texts]
    shaped = [multilingual is not None and find_instruction(t) is not None for t in texts]
    if first_stage is not None:
        _fill(out, texts, english, first_stage.match_many)
        for i, m in enumerate(out):  # a passage-shaped prompt the passage pulled: not static's
            if m is not None and shaped[i] and m.task in PASSAGE_TASKS:
                out[i] = None
    if multilingual is not None:
        takes = [
            out[i] is None and (shaped[i] or multilingual.takes(t, english[i]))
            for i, t in enumerate(texts)
        ]
        _fill(out, texts, takes, multilingual.match_many)
    rest = [i for i, m in enumerate(out) if m is None]
    vectors = embed_examples(encoder, [texts[i] for i in rest], progress=progress)
    for i, m in zip(rest, centroids.classify(vectors) if len(vectors) else [], strict=True):
        out[i] = m
    return [m for m in out if m is not None]


def _fill(
    out: list[TaskMatch | None],
    texts: Sequence[str],
    which: Sequence[bool],
    classify: Callable[[Sequence[str]], Sequence[TaskMatch | None]],
) -> None:
    """Classify the ``texts`` where ``which`` holds, into ``out`` (a None stays undecided)."""
    index = [i for i, w in enumerate(which) if w]
    for i, m in zip(index, classify([texts[i] for i in index]), strict=True):
        out[i] = m


def evaluate_file(
    path: Path,
    encoder: Encoder,
    centroids: CentroidSet,
    first_stage: FirstStage | None = None,
    multilingual: MultilingualStage | None = None,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Route every labelled row of ``path`` and score the predictions.

    Rows whose label is outside the centroids' tasks are counted under ``outside_taxonomy``
    and left out of the metrics; unparseable rows are counted under ``invalid_rows``.

    Raises:
        InvalidRequest: the file does not exist.
    """
    from training.dataset import read_jsonl

    data = read_jsonl(path, tasks=centroids.tasks)
    texts = [e.text for e in data.examples]
    matches = classify_texts(
        texts, encoder, centroids, first_stage, multilingual, progress=progress
    )
    report = evaluate_matches([e.task for e in data.examples], matches, centroids.tasks)
    report.update(routed_report(data.examples, matches))
    stages = Counter(str(m.stage) for m in matches)
    report["decided_by"] = dict(stages)
    report["transformer_share"] = round(stages["transformer"] / len(matches), 4) if matches else 0.0
    report["outside_taxonomy"] = {
        "n": sum(data.outside_taxonomy.values()),
        "labels": dict(data.outside_taxonomy),
    }
    report["invalid_rows"] = data.invalid_rows
    report["centroid_version"] = centroids.version
    return report
