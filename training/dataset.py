"""Labelled examples: JSONL rows with ``text`` and ``task`` (optional ``source``, ``weight``)."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from router.errors import InvalidRequest

TASKS = ("code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    task: str
    source: str = ""
    group: str = ""
    weight: float = 1.0
    lang: str = ""  # evaluation slices, where a file labels them (ISO 639-1, e.g. "zh")
    shape: str = ""  # "plain", "passage_question", "summarise_passage", …


@dataclass(slots=True)
class Dataset:
    """Examples read from one or more files, with what was skipped and why."""

    examples: list[Example] = field(default_factory=list)
    outside_taxonomy: Counter[str] = field(default_factory=Counter)
    invalid_rows: int = 0
    files: list[dict[str, object]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.task for e in self.examples).items()))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_jsonl(path: Path, tasks: Sequence[str] = TASKS, dataset: Dataset | None = None) -> Dataset:
    """Read labelled rows. Rows with a label outside ``tasks`` are counted, not loaded;
    rows that are not JSON objects with a non-empty ``text`` are counted as invalid.

    Raises:
        InvalidRequest: the file does not exist.
    """
    dataset = dataset if dataset is not None else Dataset()
    if not path.is_file():
        raise InvalidRequest(f"data file not found: {path}", param="data")
    before = len(dataset.examples)
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            _add_row(dataset, line, tasks, default_source=path.stem)
    dataset.files.append(
        {"path": path.name, "sha256": sha256_file(path), "rows": len(dataset.examples) - before}
    )
    return dataset


def _add_row(dataset: Dataset, line: str, tasks: Sequence[str], default_source: str) -> None:
    if not line.strip():
        return
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        dataset.invalid_rows += 1
        return
    text, task = (row.get("text"), row.get("task")) if isinstance(row, dict) else (None, None)
    if not isinstance(text, str) or not text.strip() or not isinstance(task, str):
        dataset.invalid_rows += 1
        return
    if task not in tasks:
        dataset.outside_taxonomy[task] += 1
        return
    weight = row.get("weight", 1.0)
    dataset.examples.append(
        Example(
            text=text,
            task=task,
            source=str(row.get("source") or default_source),
            group=str(row.get("topic") or row.get("id") or _digest(text)),
            weight=float(weight) if isinstance(weight, int | float) and weight > 0 else 1.0,
            lang=str(row.get("lang") or ""),
            shape=str(row.get("shape") or ""),
        )
    )


def read_many(paths: Iterable[Path], tasks: Sequence[str] = TASKS) -> Dataset:
    dataset = Dataset()
    for path in paths:
        read_jsonl(path, tasks, dataset)
    return dataset


def weighted_file(spec: str) -> tuple[Path, float]:
    """``FILE`` or ``FILE:WEIGHT`` (a command-line ``--add``): the file and its weight."""
    path, sep, weight = spec.rpartition(":")
    if not sep or not weight.replace(".", "", 1).isdigit():
        return Path(spec), 1.0
    value = float(weight)
    if value <= 0:
        raise InvalidRequest(f"weight must be positive: {spec}", param="add")
    return Path(path), value


def add_file_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--add FILE[:WEIGHT]``, repeatable, parsed by ``weighted_file`` into ``args.add``."""
    parser.add_argument(
        "--add",
        action="append",
        default=[],
        type=weighted_file,
        metavar="FILE[:WEIGHT]",
        help=help_text,
    )


def read_with(
    paths: Iterable[Path], extra: Iterable[tuple[Path, float]] = (), tasks: Sequence[str] = TASKS
) -> Dataset:
    """``read_many(paths)`` plus each ``(file, weight)`` of ``extra`` (``add_weighted``)."""
    return add_weighted(read_many(paths, tasks), extra, tasks)


def add_weighted(
    dataset: Dataset, extra: Iterable[tuple[Path, float]], tasks: Sequence[str] = TASKS
) -> Dataset:
    """``dataset`` with each ``(file, weight)`` of ``extra`` appended, its rows' weights
    multiplied by ``weight``."""
    for path, weight in extra:
        start = len(dataset.examples)
        read_jsonl(path, tasks, dataset)
        added = dataset.examples[start:]
        dataset.examples[start:] = [replace(e, weight=e.weight * weight) for e in added]
    return dataset


def split(
    examples: Sequence[Example], holdout: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Stratified by task and grouped: every row of a ``group`` lands on the same side.

    Groups are assigned task by task (in shuffled order) until each task's held-out share
    reaches ``holdout``; a group assigned while filling one task keeps its side for all.
    """
    rng = random.Random(seed)
    side: dict[str, bool] = {}
    for task in sorted({e.task for e in examples}):
        sizes = Counter(e.group for e in examples if e.task == task)
        target = round(sum(sizes.values()) * holdout) if len(sizes) > 1 else 0
        held = sum(n for g, n in sizes.items() if side.get(g, False))
        groups = sorted(sizes.keys() - side.keys())
        rng.shuffle(groups)
        for group in groups:
            side[group] = held < target
            held += sizes[group] if side[group] else 0
    train = [e for e in examples if not side.get(e.group, False)]
    test = [e for e in examples if side.get(e.group, False)]
    return train, test


def fold_of(examples: Sequence[Example], folds: int, seed: int) -> list[int]:
    """The fold (0 … ``folds`` − 1) of each example, for cross-fitting: stratified by task
    and grouped like ``split`` — every row of a ``group`` lands in the same fold, and each
    group goes to the fold that holds the fewest rows of its task so far."""
    rng = random.Random(seed)
    assigned: dict[str, int] = {}
    for task in sorted({e.task for e in examples}):
        sizes = Counter(e.group for e in examples if e.task == task)
        load = [0] * folds
        for group, n in sizes.items():
            if group in assigned:
                load[assigned[group]] += n
        groups = sorted(sizes.keys() - assigned.keys())
        rng.shuffle(groups)
        groups.sort(key=lambda g: -sizes[g])  # big groups first, ties in shuffled order
        for group in groups:
            fold = min(range(folds), key=lambda f: (load[f], rng.random()))
            assigned[group] = fold
            load[fold] += sizes[group]
    return [assigned[e.group] for e in examples]
