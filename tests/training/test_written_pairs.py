"""The cache pairs written for the project: a fit family split by cached prompt, and a hold-out
by another writer that shares no text with it."""

from __future__ import annotations

import json
from collections import Counter

from router.config import PROJECT_ROOT
from training.fit_cross_verifier import WRITTEN, families

HOLDOUT = PROJECT_ROOT / "training" / "data" / "cache_pairs_written_holdout.jsonl"
DUPLICATES = {"reworded", "context_added", "style_noise"}


def rows(path: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_every_row_is_labelled_as_its_category_says() -> None:
    for path in (WRITTEN, HOLDOUT):
        for r in rows(str(path)):
            assert r["a"] and r["b"] and r["a"] != r["b"], r
            assert r["duplicate"] == (r["category"] in DUPLICATES), r
            assert r["licence"] and r["writer"] and r["lang"], r


def test_the_hold_out_is_another_writers_and_shares_no_text_with_the_fit_family() -> None:
    fit, held = rows(str(WRITTEN)), rows(str(HOLDOUT))
    assert {r["writer"] for r in held}.isdisjoint({r["writer"] for r in fit})
    texts = {str(r[k]).strip().lower() for r in fit for k in ("a", "b")}
    assert not any(str(r[k]).strip().lower() in texts for r in held for k in ("a", "b"))
    assert Counter(bool(r["duplicate"]) for r in held)[True] >= 50


def test_the_family_is_split_by_cached_prompt() -> None:
    sides = families(PROJECT_ROOT.parent / "shared" / "data" / "cache", 0, extra=["written"])
    written = sides["written"]
    fit = {a for a, _, _ in written["fit"]}
    assert not any(a in fit for a, _, _ in written["validation"])
    share = len(written["validation"]) / (len(written["validation"]) + len(written["fit"]))
    assert 0.1 < share < 0.3
