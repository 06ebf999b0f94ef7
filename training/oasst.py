"""Real OpenAssistant user prompts, labelled by hand, as routing prompts (Apache-2.0).

``training/data/raw/oasst_prompts.jsonl`` holds the first user message of OpenAssistant
conversations, copied verbatim (``text``, ``lang``, where it was copied from, the oasst
``message_tree_id`` / ``message_id`` where the copy has them) with the task assigned by hand
for this project (``task``, ``annotator_note`` on hard calls, ``group`` joining near-duplicate
prompts). This module turns them into eval-ready rows and splits them, stratified by task and
grouped (by conversation tree, or near-duplicate group), into a training part and a held-out
part:

    python -m training.oasst

writes ``oasst_train.jsonl`` and ``oasst_holdout.jsonl`` beside the raw file's folder
(training/data/). Deterministic: same rows, same files.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.dolly import read_raw, split_by, write_jsonl

DATA = Path(__file__).resolve().parent / "data"
RAW = DATA / "raw" / "oasst_prompts.jsonl"
SOURCE = "oasst"
HOLDOUT_SHARE = 0.30
SEED = 13


def row_id(raw: dict[str, Any]) -> str:
    """``oasst-<tree>`` for a conversation tree's first message, ``oasst-db-<digest>`` for a
    prompt copied without its ids (a sample of OpenAssistant's prompt database)."""
    tree = raw.get("message_tree_id")
    if tree:
        return f"oasst-{str(tree)[:13]}"
    digest = hashlib.sha256(str(raw["text"]).encode("utf-8")).hexdigest()[:12]
    return f"oasst-db-{digest}"


def build(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One eval/training row per raw row (text kept verbatim)."""
    sample = []
    for raw in rows:
        out: dict[str, Any] = {"text": raw["text"], "task": raw["task"], "source": SOURCE}
        out |= {"id": row_id(raw), "lang": raw["lang"], "licence": raw["licence"]}
        out["origin"] = raw["origin"]
        if raw.get("annotator_note"):
            out["annotator_note"] = raw["annotator_note"]
        sample.append(out)
    ids = [r["id"] for r in sample]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate prompt in the raw oasst rows")
    return sample


def _group(row: dict[str, Any], raw: dict[str, Any]) -> str:
    return str(raw.get("group") or row["id"])


def split(
    sample: Sequence[dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    holdout: float = HOLDOUT_SHARE,
    seed: int = SEED,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stratified by task and language; seeded; near-duplicates share a side."""
    items = [
        (f"{row['lang']}/{row['task']}", _group(row, raw))
        for row, raw in zip(sample, rows, strict=True)
    ]
    return split_by(sample, items, holdout, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--raw", type=Path, default=RAW)
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    rows = read_raw(args.raw)
    sample = build(rows)
    train, test = split(sample, rows)
    write_jsonl(args.out / "oasst_train.jsonl", train)
    write_jsonl(args.out / "oasst_holdout.jsonl", test)
    print(f"{len(sample)} rows: {len(train)} train, {len(test)} held out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
