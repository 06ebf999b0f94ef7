"""How safe is the semantic cache? Hit and false-hit rates per budget tier on labelled pairs.

A pairs file is JSONL with ``a`` (the cached prompt), ``b`` (the new prompt) and ``duplicate``
(serving ``a``'s answer to ``b`` would be right). For each tier's cosine threshold, a true
duplicate is *hit* when its similarity reaches the threshold and (with a verifier) the
verification passes; a non-duplicate that gets through is a *false hit*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from router.cache import CacheVerifier
from router.encoders import Encoder
from router.errors import InvalidRequest
from training.embed import embed_examples

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Pairs:
    """The valid rows of a pairs file, column-wise, and how many rows were not valid."""

    a: list[str]
    b: list[str]
    duplicate: Mask
    invalid_rows: int


def _row(line: str) -> tuple[str, str, bool] | None:
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
    return a, b, dup


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


def verified(
    verifier: CacheVerifier,
    a: Sequence[str],
    b: Sequence[str],
    sims: npt.NDArray[np.float64],
    floor: float = 0.0,
) -> Mask:
    """Whether serving ``a``'s answer to ``b`` passes verification, per pair (pairs below
    ``floor`` are never served, so they are not checked)."""
    rows = zip(a, b, sims.tolist(), strict=True)
    return np.asarray([s >= floor and verifier.check(q, c, s).ok for c, q, s in rows], dtype=bool)


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
    sims: npt.NDArray[np.float64], ok: Mask, duplicate: Mask, thresholds: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    return {tier: rates(sims, ok, duplicate, t) for tier, t in thresholds.items()}


def evaluate_cache(
    path: Path,
    encoder: Encoder,
    verifier: CacheVerifier | None,
    thresholds: Mapping[str, float],
    *,
    progress: bool,
) -> dict[str, Any]:
    """Per tier: the threshold, hit rate and false-hit rate, with verification (when a
    verifier is given) and with cosine alone.

    Raises:
        InvalidRequest: the file is missing or unreadable.
    """
    pairs = read_pairs(path)
    sims = pair_similarities(encoder, pairs.a, pairs.b, progress=progress)
    everything = np.ones(len(sims), dtype=bool)
    floor = min(thresholds.values(), default=0.0)
    ok = everything if verifier is None else verified(verifier, pairs.a, pairs.b, sims, floor)
    return {
        "n": len(sims),
        "invalid_rows": pairs.invalid_rows,
        "tiers": tier_table(sims, ok, pairs.duplicate, thresholds),
        "cosine_only": {"tiers": tier_table(sims, everything, pairs.duplicate, thresholds)},
    }
