"""`python -m training.pawsx`: the PAWS-X pair family for the cache's cross-encoder.

PAWS-X (Google; "may be freely used for any purpose, although acknowledgement of Google LLC
("Google") as the data source would be appreciated") is paraphrase identification over
Wikipedia sentences: real paraphrases *and* pairs that share nearly every word but not the
meaning (swapped names, places, roles, dates). The German human-translated dev and test pairs
(2,000 + 2,000) were copied verbatim from the search index's copy of
``LSX-UniWue/SuperGLEBer`` ``data/PAWSX/{dev,test}.tsv`` (commit
``22c31e1d420fa9bc194b41e3a39678b9e0a5ec3d``) into ``training/data/raw/pawsx_de.jsonl``; this
module rebuilds that file from the two TSVs (``--tsv``) and splits the family for fitting.

The split is by connected group of sentences (any two pairs that share a sentence are in the
same group; PAWS-X's dev and test reuse their first sentences), 80/20 by a hash of the group's
first sentence, before anything is fitted: the validation side is never trained on.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from router.config import PROJECT_ROOT
from training.cache_pairs import side

RAW = PROJECT_ROOT / "training" / "data" / "raw" / "pawsx_de.jsonl"
LICENCE = (
    "PAWS-X (Google LLC): may be freely used for any purpose; acknowledgement of Google as the "
    "data source appreciated; provided AS IS"
)
SOURCE = "LSX-UniWue/SuperGLEBer@22c31e1d data/PAWSX"
PLACEHOLDER = "NS"  # PAWS-X marks a few untranslated sentences so (its README: clean them up)

Row = tuple[str, str, bool]


def from_tsv(path: Path, split: str, lang: str = "de") -> list[dict[str, Any]]:
    """Rows of one PAWS-X TSV (id, sentence1, sentence2, label), placeholders left out."""
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for rec in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            a, b = (rec["sentence1"] or "").strip(), (rec["sentence2"] or "").strip()
            if not a or not b or PLACEHOLDER in (a, b) or rec["label"] not in ("0", "1"):
                continue
            out.append(
                {
                    "a": a,
                    "b": b,
                    "duplicate": rec["label"] == "1",
                    "lang": lang,
                    "source": f"{SOURCE}/{split}.tsv#{rec['id']}",
                    "licence": LICENCE,
                }
            )
    return out


def load(path: Path = RAW) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _groups(rows: Sequence[Row]) -> list[str]:
    """Per row, the first-seen sentence of its connected group (pairs sharing a sentence)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in rows:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    return [find(a) for a, _, _ in rows]


def split(rows: Iterable[Row], validation_share: float) -> dict[str, list[Row]]:
    """{"fit": rows, "validation": rows}: 80/20 by group, so no sentence is on both sides."""
    rows = list(rows)
    out: dict[str, list[Row]] = {"fit": [], "validation": []}
    for row, root in zip(rows, _groups(rows), strict=True):
        out[side(root, validation_share)].append(row)
    return out


def family(validation_share: float, path: Path = RAW) -> dict[str, list[Row]]:
    rows = [(str(r["a"]), str(r["b"]), bool(r["duplicate"])) for r in load(path)]
    return split(rows, validation_share)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pawsx", description=__doc__)
    parser.add_argument(
        "--tsv", type=Path, action="append", required=True, help="dev.tsv then test.tsv"
    )
    parser.add_argument("--out", type=Path, default=RAW)
    args = parser.parse_args(argv)
    rows = [r for p in args.tsv for r in from_tsv(p, p.stem)]
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    dup = sum(r["duplicate"] for r in rows)
    print(f"{len(rows)} pairs ({dup} paraphrases) → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
