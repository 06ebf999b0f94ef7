"""Build a training batch from its writers' files, kept apart from every evaluation set.

    python -m training.batches [--out training/data/prompts_train_3]
        [--raw 'training/data/raw/batch3_*.jsonl'] [--near 0.95]

Each writer (briefed by ``training/data/routing_prompts_guide.md``, none seeing the others
nor the evaluation files) wrote one raw file. A row is kept when its task is one of the eight
and its text is not an exact repeat of a kept row, and it is dropped when its USE vector lies
within cosine ``--near`` of any row of an evaluation set (``EVAL_FILES``): a batch written by
other writers must not hand the router its own test. What was dropped and why is printed.

The kept rows go to two files, ``OUT_en.jsonl`` (prompts whose instruction is in English) and
``OUT_other.jsonl`` (the rest): they were measured apart, and only the other languages'
part improved the multilingual refit (README, "Routing quality").
"""

from __future__ import annotations

import argparse
import glob
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router.config import PROJECT_ROOT
from router.encoders import Encoder, MultilingualEncoder
from training.dataset import TASKS

DATA = PROJECT_ROOT / "training" / "data"
EVAL_FILES = (
    DATA / "oasst_holdout.jsonl",
    DATA / "dolly_holdout.jsonl",
    DATA / "realistic_labeled.jsonl",
    DATA / "multilingual_holdout.jsonl",
    DATA / "multilingual_chat_holdout.jsonl",
    DATA / "eval_written.jsonl",
    PROJECT_ROOT.parent / "shared" / "data" / "routing" / "dev.jsonl",
)
FIELDS = ("text", "task", "lang", "shape", "writer", "id")
NEAR = 0.95


@dataclass(frozen=True, slots=True)
class Built:
    rows: list[dict[str, Any]]
    dropped: Counter[str]


def read_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every JSON object of ``paths`` (in order), lines that are not one skipped."""
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if isinstance(row, dict):
                rows.append(row)
    return rows


def usable(rows: Sequence[dict[str, Any]], dropped: Counter[str]) -> list[dict[str, Any]]:
    """Rows with a text and one of the eight tasks, exact repeats removed."""
    seen: set[str] = set()
    out = []
    for row in rows:
        text, task = row.get("text"), row.get("task")
        if not isinstance(text, str) or not text.strip() or task not in TASKS:
            dropped["no text or task outside the taxonomy"] += 1
        elif text.strip() in seen:
            dropped["exact repeat"] += 1
        else:
            seen.add(text.strip())
            out.append(row)
    return out


def far_from(
    rows: Sequence[dict[str, Any]],
    others: Sequence[str],
    encoder: Encoder,
    near: float,
    dropped: Counter[str],
) -> list[dict[str, Any]]:
    """``rows`` whose vector is below cosine ``near`` to every text of ``others``."""
    if not rows or not others:
        return list(rows)
    mine = encoder.encode([r["text"] for r in rows])
    theirs = encoder.encode(list(others))
    closest = np.max(mine @ theirs.T, axis=1)
    kept = [r for r, c in zip(rows, closest, strict=True) if c < near]
    dropped[f"within cosine {near} of an evaluation row"] += len(rows) - len(kept)
    return kept


def build(
    raw: Sequence[Path], evaluation: Sequence[Path], encoder: Encoder, near: float = NEAR
) -> Built:
    dropped: Counter[str] = Counter()
    rows = usable(read_rows(raw), dropped)
    others = [r["text"] for r in read_rows(p for p in evaluation if p.is_file()) if "text" in r]
    exact = set(others)
    inside = [r for r in rows if r["text"] in exact]
    dropped["an evaluation row verbatim"] += len(inside)
    rows = far_from([r for r in rows if r["text"] not in exact], others, encoder, near, dropped)
    return Built([_clean(r) for r in rows], dropped)


def split_by_language(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``rows`` as ``en`` (``lang`` en, or none given) and ``other``, in order."""
    parts: dict[str, list[dict[str, Any]]] = {"en": [], "other": []}
    for row in rows:
        parts["en" if row.get("lang", "en") == "en" else "other"].append(row)
    return parts


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS if k in row}
    out["source"] = f"semroute_batch_{row.get('writer', 'unknown')}"
    if row.get("mixed"):
        out["mixed"] = True
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.batches")
    parser.add_argument("--raw", default=str(DATA / "raw" / "batch3_*.jsonl"))
    parser.add_argument(
        "--out",
        type=Path,
        default=DATA / "prompts_train_3",
        help="OUT_en.jsonl and OUT_other.jsonl are written",
    )
    parser.add_argument("--near", type=float, default=NEAR)
    args = parser.parse_args(argv)
    raw = [Path(p) for p in sorted(glob.glob(args.raw))]
    if not raw:
        parser.error(f"no file matches {args.raw}")
    built = build(raw, EVAL_FILES, MultilingualEncoder(), args.near)
    for part, rows in split_by_language(built.rows).items():
        path = args.out.with_name(f"{args.out.name}_{part}.jsonl")
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{len(rows)} rows → {path}")
    print("tasks:", dict(sorted(Counter(r["task"] for r in built.rows).items())))
    print("languages:", dict(Counter(r.get("lang", "?") for r in built.rows).most_common()))
    for reason, n in built.dropped.items():
        print(f"dropped {n}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
