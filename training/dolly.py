"""A hand-labelled sample of databricks-dolly-15k as routing prompts (CC BY-SA 3.0).

``training/data/raw/dolly15k_rows.jsonl`` holds the rows as copied from the dataset
(``instruction``, ``context``, dolly's ``category``, the file offset of the page they were read
from) with the task assigned by hand for this project (``task``, ``annotator_note`` on hard
calls). This module turns them into prompts the way users paste them — the instruction alone,
or instruction and passage in either order — and splits them, stratified by category, into a
training part and a held-out part:

    python -m training.dolly

writes ``dolly_sample.jsonl``, ``dolly_train.jsonl`` and ``dolly_holdout.jsonl`` beside the
raw file's folder (training/data/). Deterministic: same rows, same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
RAW = DATA / "raw" / "dolly15k_rows.jsonl"
LICENCE = "CC-BY-SA-3.0"
SOURCE = "dolly15k"
MAX_PASSAGE_CHARS = 1500
HOLDOUT_SHARE = 0.25
SEED = 12
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*(?:\[\d+\])*(?=\s)")


def truncate(passage: str, limit: int = MAX_PASSAGE_CHARS) -> str:
    """``passage`` cut at the last sentence end within ``limit`` characters (at the last
    space when no sentence ends in the second half of the window)."""
    if len(passage) <= limit:
        return passage
    window = passage[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= limit // 2:
        return window[: ends[-1]].rstrip()
    return window[: window.rfind(" ")].rstrip() if " " in window else window


def _variant(key: str) -> int:
    """0-9, fixed per row: which way round instruction and passage are pasted."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 10


def compose(row: dict[str, Any], key: str) -> tuple[str, str]:
    """The prompt text and its shape (the names training/slices.py reports): ``plain``, or
    ``passage_question`` / ``question_passage`` / ``passage_summarise`` /
    ``summarise_passage`` by which comes first."""
    instruction, passage = row["instruction"].strip(), row["context"].strip()
    kind = "summarise" if row["task"] == "summarize" else "question"
    if not passage:
        embedded = len(instruction) > 400  # the passage was pasted inside the instruction
        return instruction, f"{kind}_passage" if embedded else "plain"
    if len(instruction) > 3 * len(passage):  # dolly swapped the fields: passage, then ask
        return f"{truncate(instruction)}\n\n{passage}", f"passage_{kind}"
    passage = truncate(passage)
    variant = _variant(key)
    if variant < 5:
        return f"{passage}\n\n{instruction}", f"passage_{kind}"
    separator = "\n" if variant == 9 else "\n\n"
    return f"{instruction}{separator}{passage}", f"{kind}_passage"


def build(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One sample row per raw row, ids ``dolly-<category>-<n>`` in file order."""
    counters: dict[str, int] = defaultdict(int)
    sample = []
    for row in rows:
        category = row["category"]
        counters[category] += 1
        row_id = f"dolly-{category}-{counters[category]:03d}"
        text, shape = compose(row, row_id)
        out: dict[str, Any] = {"text": text, "task": row["task"], "source": SOURCE}
        out |= {"id": row_id, "category": category, "licence": LICENCE, "shape": shape}
        out["dolly_offset"] = row["offset"]
        if row.get("annotator_note"):
            out["annotator_note"] = row["annotator_note"]
        sample.append(out)
    return sample


def _group(row: dict[str, Any], raw: dict[str, Any]) -> str:
    """Rows sharing a passage stay on one side of the split."""
    passage = str(raw["context"]).strip()
    return passage[:80] if passage else str(row["id"])


def held_out(
    items: Sequence[tuple[str, str]], holdout: float = HOLDOUT_SHARE, seed: int = SEED
) -> set[int]:
    """Indices of the held-out part of ``items`` (each a ``(stratum, group)`` pair): within
    every stratum, whole groups in seeded shuffled order until the stratum's share reaches
    ``holdout``, so a rare stratum is held out too and a group's rows share a side."""
    rng = random.Random(seed)
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (stratum, group) in enumerate(items):
        groups[stratum][group].append(i)
    held: set[int] = set()
    for stratum in sorted(groups):
        keys = sorted(groups[stratum])
        rng.shuffle(keys)
        target = round(sum(len(v) for v in groups[stratum].values()) * holdout)
        taken = 0
        for key in keys:
            if taken >= target:
                break
            held.update(groups[stratum][key])
            taken += len(groups[stratum][key])
    return held


def split(
    sample: Sequence[dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    holdout: float = HOLDOUT_SHARE,
    seed: int = SEED,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stratified by dolly category and, within it, by task (so a rare task is held out too);
    seeded; a passage's rows share a side."""
    items = [
        (f"{row['category']}/{row['task']}", _group(row, raw))
        for row, raw in zip(sample, rows, strict=True)
    ]
    return split_by(sample, items, holdout, seed)


def split_by(
    sample: Sequence[dict[str, Any]],
    items: Sequence[tuple[str, str]],
    holdout: float,
    seed: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``sample`` split into (train, held out) by ``held_out`` over its (stratum, group)
    items, one per row."""
    held = held_out(items, holdout, seed)
    train = [r for i, r in enumerate(sample) if i not in held]
    test = [r for i, r in enumerate(sample) if i in held]
    return train, test


def read_raw(path: Path) -> list[dict[str, Any]]:
    """The rows of a raw JSONL copy, blank lines skipped."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--raw", type=Path, default=RAW)
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    rows = read_raw(args.raw)
    sample = build(rows)
    train, test = split(sample, rows)
    write_jsonl(args.out / "dolly_sample.jsonl", sample)
    write_jsonl(args.out / "dolly_train.jsonl", train)
    write_jsonl(args.out / "dolly_holdout.jsonl", test)
    print(f"{len(sample)} rows: {len(train)} train, {len(test)} held out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
