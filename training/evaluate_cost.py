"""What does routing buy? Quality and cost of a routing policy on per-model outcome data.

The quality file (per-model outcomes) is read by ``training.quality``; what each call costs
comes from the prices file (``training.prices``); the policies evaluated are in
``training.cost_policy``. The names of these that callers import from here are re-exported.

Scores follow RouteLLM (Ong et al., 2024): with *cheapest* (the model of lowest average cost)
as the weak model and *best* (highest average quality) as the strong one,
``PGR = (q − q_cheapest) / (q_best − q_cheapest)`` and
``cost share = (c − c_cheapest) / (c_best − c_cheapest)``. APGR is the area under PGR over
cost share for a router whose threshold sweeps from all-cheapest (0, 0) to all-best (1, 1)
(trapezoid rule); random mixing scores 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from router.classify import CentroidSet
from router.encoders import Encoder
from router.errors import InvalidRequest
from training.cost_policy import Hardness, Policy, ScoredPolicy, semroute_policy
from training.prices import Prices, load_prices, resolve
from training.quality import QualityRow, load_quality
from training.ranking import suggest_ranking

__all__ = [
    "CURVE_POINTS",
    "RANDOM_SEEDS",
    "Array",
    "Frame",
    "Policy",
    "Prices",
    "QualityRow",
    "ScoredPolicy",
    "apgr",
    "data_models",
    "evaluate_cost",
    "format_cost_report",
    "load_prices",
    "load_quality",
    "run_eval_cost",
    "semroute_policy",
    "sweep",
    "thin",
]

Array = npt.NDArray[np.float64]
RANDOM_SEEDS = 20
CURVE_POINTS = 51


# -- evaluation ------------------------------------------------------------------------------


def data_models(rows: Sequence[QualityRow]) -> list[str]:
    """The models of the data, in the first row's order.

    Raises:
        InvalidRequest: there are no rows, or rows disagree on which models they score.
    """
    if not rows:
        raise InvalidRequest("no rows to evaluate", param="data")
    models = list(rows[0].quality)
    for i, row in enumerate(rows, 1):
        if set(row.quality) != set(models):
            raise InvalidRequest(f"row {i} scores {sorted(row.quality)}, row 1 {models}", "data")
    return models


def _ratio(num: Array, den: float) -> Array | None:
    return num / den if abs(den) > 1e-12 else None


def _r(x: float, digits: int = 4) -> float:
    return round(x, digits) + 0.0  # + 0.0: no "-0.0" in the report


@dataclass(frozen=True, slots=True)
class Frame:
    """Quality and cost of every (row, model), shape (n, models); *cheap* is the model of
    lowest mean cost (ties: higher quality), *best* the one of highest mean quality (ties:
    lower cost)."""

    models: list[str]
    quality: Array
    cost: Array
    cheap: int
    best: int

    @classmethod
    def build(cls, rows: Sequence[QualityRow], prices: Prices) -> Frame:
        """Raises: InvalidRequest: rows disagree on models, or a model has no price."""
        models = data_models(rows)
        q = np.array([[r.quality[m] for m in models] for r in rows], dtype=np.float64)
        c = np.array([[prices.call_cost(m, r) for m in models] for r in rows], dtype=np.float64)
        mq, mc = q.mean(0), c.mean(0)
        cheap = min(range(len(models)), key=lambda j: (mc[j], -mq[j]))
        best = min(range(len(models)), key=lambda j: (-mq[j], mc[j]))
        return cls(models, q, c, cheap, best)

    def gaps(self, quality: Array, cost: Array) -> tuple[Array | None, Array | None]:
        """(PGR, cost share) of mean qualities and costs; None where the gap is zero."""
        q, c = self.quality.mean(0), self.cost.mean(0)
        pgr = _ratio(quality - q[self.cheap], q[self.best] - q[self.cheap])
        return pgr, _ratio(cost - c[self.cheap], c[self.best] - c[self.cheap])

    def point(self, quality: float, cost: float) -> dict[str, Any]:
        pgr, share = self.gaps(np.array([quality]), np.array([cost]))
        return {
            "quality": _r(quality),
            "cost": _r(cost, 8),
            "pgr": None if pgr is None else _r(float(pgr[0])),
            "cost_share": None if share is None else _r(float(share[0])),
        }

    def routed(self, picks: npt.NDArray[np.intp]) -> tuple[float, float]:
        """Mean (quality, cost) of sending row i to model ``picks[i]``."""
        rows = np.arange(len(picks))
        return float(self.quality[rows, picks].mean()), float(self.cost[rows, picks].mean())

    def picked(self, picks: npt.NDArray[np.intp]) -> dict[str, Any]:
        """The point of routing row i to ``picks[i]``, with the share of rows each model got."""
        shares = np.bincount(picks, minlength=len(self.models)) / len(picks)
        return {
            **self.point(*self.routed(picks)),
            "picks": {m: round(float(s), 4) for m, s in zip(self.models, shares, strict=True)},
        }

    def single(self, j: int) -> dict[str, Any]:
        return {"model": self.models[j], **self.point(*self.routed(np.full(len(self.quality), j)))}


def sweep(frame: Frame, hardness: Sequence[float]) -> list[tuple[float, float]]:
    """(cost share, PGR) as a threshold t sweeps from +inf down: rows with hardness > t go to
    the best model, the others to the cheapest. One point per distinct hardness value."""
    h = np.asarray(hardness, dtype=np.float64)
    order = np.argsort(-h, kind="stable")
    cheap, best = frame.cheap, frame.best
    steps = []
    for a in (frame.quality, frame.cost):
        delta = np.cumsum((a[:, best] - a[:, cheap])[order])
        steps.append((a[:, cheap].sum() + np.concatenate([[0.0], delta])) / len(h))
    ranked = h[order]
    cut = np.concatenate([[True], ranked[:-1] != ranked[1:], [True]])
    pgr, share = frame.gaps(steps[0][cut], steps[1][cut])
    if pgr is None or share is None:
        return []
    return [(float(x), float(y)) for x, y in zip(share, pgr, strict=True)]


def apgr(curve: Sequence[tuple[float, float]]) -> float:
    """Area under PGR over cost share (trapezoid rule, points in the given order)."""
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in pairwise(curve))


def thin(curve: Sequence[tuple[float, float]], points: int) -> list[list[float]]:
    """At most ``points`` evenly spaced points of ``curve``, both ends kept, rounded."""
    idx = np.unique(np.linspace(0, len(curve) - 1, min(points, len(curve))).round().astype(int))
    return [[_r(curve[i][0]), _r(curve[i][1])] for i in idx]


def _policy_picks(frame: Frame, policy: Policy, texts: list[str]) -> npt.NDArray[np.intp]:
    chosen = policy(texts)
    resolved = [resolve(m, frame.models) for m in chosen]
    if len(chosen) != len(texts) or None in resolved:
        bad = sorted({m for m, r in zip(chosen, resolved, strict=False) if r is None})
        raise InvalidRequest(f"the policy must pick one of {frame.models} a row; got {bad}")
    return np.array([frame.models.index(str(m)) for m in resolved], dtype=np.intp)


def _random_mix(frame: Frame, p_best: float, seed: int, seeds: int) -> dict[str, Any]:
    """Each row to the best model with probability ``p_best``, else the cheapest; the mean
    over ``seeds`` draws."""
    draws = np.random.default_rng(seed).random((seeds, len(frame.quality))) < p_best
    q, c = (
        np.where(draws, a[:, frame.best], a[:, frame.cheap]).mean()
        for a in (frame.quality, frame.cost)
    )
    return {**frame.point(float(q), float(c)), "p_best": round(p_best, 4), "seeds": seeds}


def evaluate_cost(
    rows: Sequence[QualityRow],
    policy: Policy,
    prices: Prices,
    *,
    seed: int = 0,
    hardness: Hardness | None = None,
    seeds: int = RANDOM_SEEDS,
    curve_points: int = CURVE_POINTS,
) -> dict[str, Any]:
    """Mean quality and cost per prompt of ``policy`` and of the baselines, as plain data
    (what ``semroute eval-cost --json`` prints).

    ``random_same_cost`` mixes cheapest and best at the policy's cost share; ``oracle`` sends
    each row to the cheapest of the models that score best on it. The curve sweeps
    ``hardness`` (default: the policy's own, for a ``ScoredPolicy``; else 1 where the policy
    picked the best model, 0 elsewhere: (0, 0) → the policy's point → (1, 1)). ``apgr`` is
    the area under the full curve; ``curve`` keeps at most ``curve_points`` of its points.

    Raises:
        InvalidRequest: no rows, rows disagree on models, a model has no price, or the policy
            picks a model that is not in the data.
    """
    frame = Frame.build(rows, prices)
    texts = [r.text for r in rows]
    picks = _policy_picks(frame, policy, texts)
    _, share = frame.gaps(np.array([0.0]), np.array([frame.routed(picks)[1]]))
    p_best = 0.0 if share is None else min(max(float(share[0]), 0.0), 1.0)
    top = frame.quality.max(1, keepdims=True)
    oracle = np.where(frame.quality >= top - 1e-12, frame.cost, np.inf).argmin(1)
    if hardness is None and isinstance(policy, ScoredPolicy):
        hardness = policy.hardness
    if hardness is not None:
        curve = sweep(frame, hardness(texts))
    else:
        curve = sweep(frame, [1.0 if j == frame.best else 0.0 for j in picks])
    return {
        "n": len(rows),
        "models": {
            m: {"quality": round(float(q), 4), "cost": round(float(c), 8)}
            for m, q, c in zip(frame.models, frame.quality.mean(0), frame.cost.mean(0), strict=True)
        },
        "policy": frame.picked(picks),
        "baselines": {
            "cheapest": frame.single(frame.cheap),
            "best": frame.single(frame.best),
            "random_same_cost": _random_mix(frame, p_best, seed, seeds),
            "oracle": frame.picked(oracle.astype(np.intp)),
        },
        "apgr": round(apgr(curve), 4) if curve else None,
        "curve": thin(curve, curve_points),
    }


def run_eval_cost(
    data: Path,
    prices_path: Path,
    encoder: Encoder,
    centroids: CentroidSet,
    *,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """``semroute eval-cost``: load both files, route with semroute's policy, evaluate.

    Raises:
        InvalidRequest: the data file is missing or invalid (see ``evaluate_cost``).
        ConfigError: the prices file is missing or invalid.
    """
    rows, prices = load_quality(data), load_prices(prices_path)
    policy = semroute_policy(
        centroids, encoder, prices, models=data_models(rows), progress=progress
    )
    report = evaluate_cost(rows, policy, prices, seed=seed)
    tasks = [m.task for m in policy.matches([r.text for r in rows])]
    report["ranking_suggestion"] = suggest_ranking(rows, tasks, prices)
    return report


def format_cost_report(report: Mapping[str, Any]) -> str:
    """The report as a small text table (``semroute eval-cost`` without ``--json``)."""

    def num(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    lines = [f"n={report['n']}  models: " + ", ".join(report["models"])]
    lines.append(f"{'':<16} {'quality':>8} {'$/prompt':>10} {'PGR':>7} {'cost share':>10}")
    points = {"policy": report["policy"], **report["baselines"]}
    for name, p in points.items():
        lines.append(
            f"{name:<16} {p['quality']:>8.4f} {p['cost']:>10.6f} "
            f"{num(p['pgr'], '.4f'):>7} {num(p['cost_share'], '.4f'):>10}  {p.get('model', '')}"
        )
    lines.append(f"APGR {num(report['apgr'], '.4f')} (random mixing: 0.5)")
    return "\n".join(line.rstrip() for line in lines)
