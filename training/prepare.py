"""Rebuild the committed training files from the shared public data (reproducible, seeded).

    python -m training.prepare --shared ../shared/data/routing

Writes ``training/data/public_train.jsonl`` (the public train split without rows whose terms
forbid redistribution, each row tagged with its licence) and splits the hand-labelled arena
prompts into ``realistic_train.jsonl`` / ``realistic_holdout.jsonl`` by topic cluster.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

# source → licence. GLUE rows are dropped: QQP follows Quora's non-commercial terms and
# MRPC's Microsoft licence does not clearly allow redistribution.
LICENCES = {
    "gsm8k_train": "MIT (openai/grade-school-math)",
    "humaneval": "MIT (openai/human-eval)",
    "mbpp_test": "CC-BY-4.0 (google-research mbpp)",
    "nq_open_dev": "CC-BY-SA-3.0 (google-research-datasets/natural-questions)",
    "p3_t0_train": "Apache-2.0 (yizhongw/self-instruct T0 sample; underlying dataset: see id)",
}
DROPPED_PREFIXES = ("p3-glue-",)
# The public rows are templated benchmark prompts, unlike real traffic: they count half as much
# as written or real prompts when centroids are fitted (measured: see README, "Routing quality").
PUBLIC_WEIGHT = 0.5


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def public_rows(shared: Path) -> list[dict[str, Any]]:
    out = []
    for row in _rows(shared / "train.jsonl"):
        if row["id"].startswith(DROPPED_PREFIXES):
            continue
        out.append({**row, "licence": LICENCES[row["source"]], "weight": PUBLIC_WEIGHT})
    return out


def split_realistic(seed: int, holdout: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = _rows(DATA / "realistic_labeled.jsonl")
    topics = sorted({r["topic"] for r in rows})
    random.Random(seed).shuffle(topics)
    held = set(topics[: round(len(topics) * holdout)])
    return [r for r in rows if r["topic"] not in held], [r for r in rows if r["topic"] in held]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout", type=float, default=0.4)
    args = parser.parse_args()
    n = _write(DATA / "public_train.jsonl", public_rows(args.shared))
    train, test = split_realistic(args.seed, args.holdout)
    print(f"public_train.jsonl: {n} rows")
    print(f"realistic_train.jsonl: {_write(DATA / 'realistic_train.jsonl', train)} rows")
    print(f"realistic_holdout.jsonl: {_write(DATA / 'realistic_holdout.jsonl', test)} rows")


if __name__ == "__main__":
    main()
