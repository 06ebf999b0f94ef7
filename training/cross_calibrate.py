"""How the cache's cross-encoder decides, chosen on the validation sides of the fit families only.

Three choices, all recorded in the model's manifest: how the cross-encoder's logit and the
embedding cosine combine into one probability (a two-feature logistic regression — the
bi-encoder has seen far more paraphrases than the cross-encoder, the cross-encoder reads the
one changed detail the cosine misses), which guards stand in front (the exact ones only, or the
whole lexical set), and per budget tier the cosine that retrieves candidates and the
probability that serves one: the most true hits whose false-hit rate stays within the tier's
budget on *every* family.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from router.cache import GUARDS, CrossScorer, combine, word_overlap
from router.encoders import Encoder
from training.evaluate_cache import Pairs, pair_similarities

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

RETRIEVE_GRID = np.round(np.arange(0.60, 0.96, 0.025), 3)
DECIDE_GRID = np.round(
    np.concatenate([np.arange(0.05, 0.95, 0.025), [0.96, 0.97, 0.98, 0.99, 0.995, 0.998]]), 3
)
HIT_SLACK = 0.01  # mean hit rate a higher retrieval cosine may cost (fewer model calls)
COMBINE_FLOOR = 0.5  # pairs below this cosine are never candidates: left out of the fit


@dataclass(frozen=True, slots=True)
class Scored:
    """One validation side: cosine, cross-encoder logit, each guard set's verdict, labels."""

    name: str
    sims: Floats
    logits: Floats
    guards: dict[str, Mask]
    duplicate: Mask
    overlap: Floats


def score_family(name: str, pairs: Pairs, scorer: CrossScorer, encoder: Encoder) -> Scored:
    """``b`` is the new prompt, ``a`` the cached one, as in the cache."""
    sims = pair_similarities(encoder, pairs.a, pairs.b)
    rows = list(zip(pairs.b, pairs.a, strict=True))
    logits = np.asarray([scorer.logit(q, c) for q, c in rows], np.float64)
    guards = {kind: np.asarray([g(q, c) is None for q, c in rows]) for kind, g in GUARDS.items()}
    overlap = np.asarray([word_overlap(q, c) for q, c in rows], np.float64)
    return Scored(name, sims, logits, guards, pairs.duplicate, overlap)


def _features(s: Scored) -> Floats:
    return np.column_stack([s.logits, s.sims, s.overlap, s.logits * s.overlap]).astype(np.float64)


def fit_combination(sets: Sequence[Scored]) -> dict[str, float]:
    """P(duplicate) from (logit, cosine, overlap, logit × overlap); every family carries the
    same total weight."""
    keep = [s.sims >= COMBINE_FLOOR for s in sets]
    x = np.concatenate([_features(s)[k] for s, k in zip(sets, keep, strict=True)])
    y = np.concatenate([s.duplicate[k] for s, k in zip(sets, keep, strict=True)])
    w = np.concatenate([np.full(int(k.sum()), 1.0 / max(int(k.sum()), 1)) for k in keep])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y, sample_weight=w * len(w))
    names = ("logit", "cosine", "jaccard", "logit_jaccard")
    coef = {n: round(float(v), 6) for n, v in zip(names, model.coef_[0], strict=True)}
    return {**coef, "bias": round(float(model.intercept_[0]), 6)}


def _rates(served: Mask, dup: Mask) -> tuple[float, float]:
    return (
        float((served & dup).sum() / max(int(dup.sum()), 1)),
        float((served & ~dup).sum() / max(int((~dup).sum()), 1)),
    )


def choose_rules(
    sets: Sequence[tuple[Floats, Floats, Mask, Mask]],
    budget: float,
    at_most: tuple[float, float] = (1.0, 1.0),
    retrieve: float | None = None,
) -> tuple[float, float, float]:
    """(retrieve, decide, mean hit rate) whose false-hit rate is within ``budget`` on every
    set (each: cosine, probability, guards pass, duplicate): of the rules within
    ``HIT_SLACK`` of the most hits, the one with the highest retrieval cosine — every
    candidate it lets through costs a model call, so a looser one must earn its cost. No
    threshold exceeds ``at_most`` (the stricter tier's), so tiers only loosen downwards.
    ``retrieve`` given: that cosine only (the service's configured one), the probability
    chosen."""
    feasible = []
    grid = RETRIEVE_GRID[at_most[0] >= RETRIEVE_GRID] if retrieve is None else [retrieve]
    for r in grid:
        for d in DECIDE_GRID[at_most[1] >= DECIDE_GRID]:
            rates = [_rates((s >= r) & (p >= d) & g, y) for s, p, g, y in sets]
            if max(f for _, f in rates) <= budget:
                feasible.append((float(r), float(d), float(np.mean([h for h, _ in rates]))))
    if not feasible:
        return 0.95, float(DECIDE_GRID[-1]), 0.0
    most = max(hit for _, _, hit in feasible)
    return max((f for f in feasible if f[2] >= most - HIT_SLACK), key=lambda f: (f[0], f[2]))


def tier_rules(
    sets: Sequence[Scored],
    probs: Sequence[Floats],
    guard: str,
    budgets: dict[str, float],
    retrieve: Mapping[str, float] | None = None,
    report_only: Collection[str] = (),
) -> tuple[dict[str, dict[str, float]], dict[str, Any], float]:
    """(rules per tier, validation rates per tier and family, summed mean hit rate);
    ``retrieve``: each tier's fixed retrieval cosine (default: chosen too); families in
    ``report_only`` are measured but do not bound the choice."""
    rows = [(s.sims, p, s.guards[guard], s.duplicate) for s, p in zip(sets, probs, strict=True)]
    bounding = [row for s, row in zip(sets, rows, strict=True) if s.name not in report_only]
    tiers, metrics, total, bound = {}, {}, 0.0, (1.0, 1.0)
    for tier, budget in budgets.items():  # strictest first
        fixed = None if retrieve is None else retrieve[tier]
        r, d, hit = choose_rules(bounding, budget, bound, fixed)
        bound = (r, d)
        tiers[tier] = {"retrieve": r, "decide": d}
        total += hit
        metrics[tier] = {
            s.name: dict(
                zip(
                    ("hit_rate", "false_hit_rate"),
                    _round(_rates((sims >= r) & (p >= d) & g, y)),
                    strict=True,
                )
            )
            for s, (sims, p, g, y) in zip(sets, rows, strict=True)
        }
    return tiers, metrics, total


def _round(pair: tuple[float, float]) -> tuple[float, float]:
    return round(pair[0], 4), round(pair[1], 4)


def calibrate(
    scored: Sequence[Scored],
    budgets: dict[str, float],
    log: Callable[[str], None] = print,
    retrieve: Mapping[str, float] | None = None,
    report_only: Collection[str] = (),
) -> dict[str, Any]:
    """The manifest's decision part: combination, guards and per-tier rules (``retrieve``:
    the retrieval cosine per tier is fixed, only the decision probability is chosen;
    ``report_only``: families fitted and measured that do not bound the tiers' choice)."""
    coef = fit_combination(scored)
    probs = [combine(coef, s.logits, s.sims, s.overlap) for s in scored]
    options = {g: tier_rules(scored, probs, g, budgets, retrieve, report_only) for g in GUARDS}
    for g, (tiers, _, total) in options.items():
        log(f"guards {g}: mean hit summed over tiers {total:.3f}, {tiers}")
    guard = max(options, key=lambda g: options[g][2])
    tiers, metrics, _ = options[guard]
    return {
        "combine": coef,
        "guards": guard,
        "tiers": tiers,
        "validation": metrics,
        "validation_other_guards": {g: o[1] for g, o in options.items() if g != guard},
    }
