"""How safe is the semantic cache? Hit and false-hit rates per budget tier on labelled pairs.

A pairs file is JSONL with ``a`` (the cached prompt), ``b`` (the new prompt) and ``duplicate``
(serving ``a``'s answer to ``b`` would be right), optionally ``category`` (then the report
also has one table per category). For each tier, a true duplicate is *hit* when its similarity
reaches the tier's cosine threshold and (with a verifier) the verifier's score reaches that
tier's decision threshold; a non-duplicate that gets through is a *false hit*. The verifier
scores each pair once (only pairs over the loosest threshold), whatever the number of tiers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from router.encoders import Encoder
from router.errors import InvalidRequest
from training.embed import embed_examples

Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]


class PairVerifier(Protocol):
    """What the evaluation needs of a verifier: a guarded score and each tier's threshold."""

    def score(self, query: str, cached: str, similarity: float) -> float: ...

    def threshold_for(self, tier: str | None) -> float: ...


@dataclass(frozen=True, slots=True)
class Pairs:
    """The valid rows of a pairs file, column-wise, and how many rows were not valid."""

    a: list[str]
    b: list[str]
    duplicate: Mask
    invalid_rows: int
    category: tuple[str | None, ...] = ()


def _row(line: str) -> tuple[str, str, bool, str | None] | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(row, dict):
        return None
    a, b, dup = row.get("a"), row.get("b"), row.get("duplicate")
    if not (isinstance(a, str) and isinstance(b, str) and isinstance(dup, bool)):
        return None
    if not (a.strip() and b.strip()):
        return None
    category = row.get("category")
    return a, b, dup, category if isinstance(category, str) and category else None


def read_pairs(path: Path) -> Pairs:
    """Read a pairs file; rows without string ``a``/``b`` and boolean ``duplicate`` are counted.

    Raises:
        InvalidRequest: the file is missing or unreadable.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{path}: cannot read pairs file: {exc}", param="data") from exc
    rows = [_row(line) for line in lines if line.strip()]
    valid = [r for r in rows if r is not None]
    return Pairs(
        a=[r[0] for r in valid],
        b=[r[1] for r in valid],
        duplicate=np.asarray([r[2] for r in valid], dtype=bool),
        invalid_rows=len(rows) - len(valid),
        category=tuple(r[3] for r in valid),
    )


def pair_similarities(
    encoder: Encoder, a: Sequence[str], b: Sequence[str], *, progress: bool = False
) -> npt.NDArray[np.float64]:
    """Cosine similarity of each (a, b), embedding each distinct text once."""
    texts = list(dict.fromkeys([*a, *b]))
    vectors = embed_examples(encoder, texts, progress=progress)
    index = {t: i for i, t in enumerate(texts)}
    va = vectors[[index[t] for t in a]] if a else vectors[:0]
    vb = vectors[[index[t] for t in b]] if b else vectors[:0]
    return np.asarray(np.sum(va * vb, axis=1), dtype=np.float64)


def verifier_scores(
    verifier: PairVerifier,
    a: Sequence[str],
    b: Sequence[str],
    sims: Floats,
    floor: float = 0.0,
) -> Floats:
    """The verifier's score of serving ``a``'s answer to ``b``, per pair (pairs below ``floor``
    are never served, so they are not scored: -1)."""
    rows = zip(a, b, sims.tolist(), strict=True)
    return np.asarray(
        [verifier.score(q, c, s) if s >= floor else -1.0 for c, q, s in rows], dtype=np.float64
    )


def rates(
    sims: npt.NDArray[np.float64], ok: Mask, duplicate: Mask, threshold: float
) -> dict[str, float]:
    """Hit rate on duplicates and false-hit rate on non-duplicates at one threshold."""
    served = (sims >= threshold) & ok
    dup, non = duplicate.sum(), (~duplicate).sum()
    return {
        "threshold": threshold,
        "hit_rate": round(float((served & duplicate).sum() / dup), 4) if dup else 0.0,
        "false_hit_rate": round(float((served & ~duplicate).sum() / non), 4) if non else 0.0,
    }


def tier_table(
    sims: Floats,
    duplicate: Mask,
    thresholds: Mapping[str, float],
    scores: Floats | None = None,
    verifier: PairVerifier | None = None,
) -> dict[str, dict[str, float]]:
    """Per tier: its cosine threshold, and (with a verifier) its decision threshold too."""
    table = {}
    for tier, t in thresholds.items():
        if scores is None or verifier is None:
            table[tier] = rates(sims, np.ones(len(sims), dtype=bool), duplicate, t)
            continue
        decide = verifier.threshold_for(tier)
        table[tier] = {**rates(sims, scores >= decide, duplicate, t), "decide": decide}
    return table


def evaluate_cache(
    path: Path,
    encoder: Encoder,
    verifier: PairVerifier | None,
    thresholds: Mapping[str, float],
    *,
    progress: bool,
) -> dict[str, Any]:
    """Per tier: the thresholds, hit rate and false-hit rate, with verification (when a
    verifier is given) and with cosine alone; per category too when the rows name one.

    Raises:
        InvalidRequest: the file is missing or unreadable.
    """
    pairs = read_pairs(path)
    sims = pair_similarities(encoder, pairs.a, pairs.b, progress=progress)
    floor = min(thresholds.values(), default=0.0)
    scores = None if verifier is None else verifier_scores(verifier, pairs.a, pairs.b, sims, floor)
    report: dict[str, Any] = {
        "n": len(sims),
        "invalid_rows": pairs.invalid_rows,
        "tiers": tier_table(sims, pairs.duplicate, thresholds, scores, verifier),
        "cosine_only": {"tiers": tier_table(sims, pairs.duplicate, thresholds)},
    }
    names = sorted({c for c in pairs.category if c is not None})
    if names:
        report["categories"] = {}
        for name in names:
            keep = np.asarray([c == name for c in pairs.category], dtype=bool)
            part = None if scores is None else scores[keep]
            report["categories"][name] = {
                "n": int(keep.sum()),
                "duplicates": int(pairs.duplicate[keep].sum()),
                "tiers": tier_table(sims[keep], pairs.duplicate[keep], thresholds, part, verifier),
            }
    return report
