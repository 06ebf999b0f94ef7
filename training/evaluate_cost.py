"""What does routing buy? Quality and cost of a routing policy on per-model outcome data.

A quality file is JSONL: ``text``, and per model either ``correct: {model: bool}`` or
``scores: {model: float in [0, 1]}`` (both may appear: a score wins), with optional
``label``, ``source`` and ``router_task``. Sending a prompt to a model costs
``(prompt tokens + per-call input tokens) × input price + output tokens × output price``,
prompt tokens being estimated from the text (~4 characters a token), the rest from the
prices file (USD per 1M tokens; see ``training/data/prices_routellm.toml``).

Scores follow RouteLLM (Ong et al., 2024): with *cheapest* (the model of lowest average cost)
as the weak model and *best* (highest average quality) as the strong one,
``PGR = (q − q_cheapest) / (q_best − q_cheapest)`` and
``cost share = (c − c_cheapest) / (c_best − c_cheapest)``. APGR is the area under PGR over
cost share for a router whose threshold sweeps from all-cheapest (0, 0) to all-best (1, 1)
(trapezoid rule); random mixing scores 0.5.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.centroids import CentroidSet
from router.embedding import Encoder
from router.errors import ConfigError, InvalidRequest
from router.tokens import estimate_tokens
from router.types import TaskMatch

if TYPE_CHECKING:
    from router.core import Router

Policy = Callable[[list[str]], list[str]]
Hardness = Callable[[list[str]], list[float]]
Array = npt.NDArray[np.float64]
DEFAULT_ROUTE = "default"
TYPICAL_PROMPT_TOKENS = 100  # only to rank models by price when no data is at hand
RANDOM_SEEDS = 20
CURVE_POINTS = 51


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QualityRow:
    """One prompt and how well each model answered it (1.0 / 0.0 for correct / wrong)."""

    text: str
    quality: Mapping[str, float]
    label: str | None = None
    source: str | None = None
    router_task: str | None = None


def _outcomes(row: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    correct, scores = row.get("correct", {}), row.get("scores", {})
    if not isinstance(correct, dict) or not isinstance(scores, dict):
        raise ValueError("`correct` and `scores` must be objects")
    for model, ok in correct.items():
        if not isinstance(ok, bool):
            raise ValueError(f"correct[{model!r}] must be true or false")
        out[model] = float(ok)
    for model, score in scores.items():
        if not isinstance(score, int | float) or not 0.0 <= float(score) <= 1.0:
            raise ValueError(f"scores[{model!r}] must be a number in [0, 1]")
        out[model] = float(score)
    if not out:
        raise ValueError("no `correct` or `scores` for any model")
    return out


def _optional(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) and value else None


def load_quality(path: Path) -> list[QualityRow]:
    """Read a quality file (blank lines skipped).

    Raises:
        InvalidRequest: the file is missing, or a line is not a valid row (named by number).
    """
    try:
        # Only "\n" ends a row: JSON strings may hold U+2028 and other characters that
        # str.splitlines() would also split on.
        lines = path.read_text(encoding="utf-8").split("\n")
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidRequest(f"data file not found: {path}", param="data") from None
    rows: list[QualityRow] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                raise ValueError("expected an object with a string `text`")
            quality = _outcomes(raw)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise InvalidRequest(f"{path}:{number}: {exc}", param="data") from exc
        label, source, task = (_optional(raw, k) for k in ("label", "source", "router_task"))
        rows.append(QualityRow(raw["text"], quality, label, source, task))
    return rows


# -- prices ----------------------------------------------------------------------------------

Price = Annotated[float, Field(ge=0)]
Tokens = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelPrice(_Strict):
    """USD per 1M tokens; optional per-call token assumptions for this model."""

    input: Price
    output: Price
    input_tokens: Tokens | None = None  # per call, on top of the prompt (system prompt, template)
    output_tokens: Tokens | None = None  # typical answer length of this model


class TokenDefaults(_Strict):
    input_tokens: Tokens = 0
    output_tokens: Tokens = 250


def base_name(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def resolve(name: str, known: Sequence[str]) -> str | None:
    """``name`` itself if known, else the one known name with the same part after the last
    ``/`` (``mistralai/Mixtral-8x7B-Instruct-v0.1`` ↔ ``Mixtral-8x7B-Instruct-v0.1``)."""
    if name in known:
        return name
    same = [k for k in known if base_name(k) == base_name(name)]
    return same[0] if len(same) == 1 else None


class Prices(_Strict):
    """The prices file. ``output_tokens`` maps a row's ``source`` (or ``label``) to its typical
    output tokens; ``policy`` maps a task (and ``default``) to a ranked list of models."""

    models: Annotated[dict[str, ModelPrice], Field(min_length=1)]
    defaults: TokenDefaults = TokenDefaults()
    output_tokens: dict[str, Tokens] = Field(default_factory=dict)
    policy: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _policy_models_priced(self) -> Prices:
        for task, names in self.policy.items():
            unknown = [n for n in names if resolve(n, list(self.models)) is None]
            if unknown:
                raise ValueError(f"policy.{task}: unpriced model(s) {unknown}")
        return self

    def price(self, model: str) -> ModelPrice:
        """Raises: InvalidRequest: the model has no price."""
        name = resolve(model, list(self.models))
        if name is None:
            raise InvalidRequest(f"no price for model {model!r}", param="prices")
        return self.models[name]

    def call_cost(self, model: str, row: QualityRow) -> float:
        """USD for sending ``row`` to ``model``."""
        p = self.price(model)
        extra = self.defaults.input_tokens if p.input_tokens is None else p.input_tokens
        tokens_in = estimate_tokens(row.text) + extra
        return (tokens_in * p.input + self.output_for(p, row) * p.output) / 1e6

    def output_for(self, price: ModelPrice, row: QualityRow) -> int:
        if price.output_tokens is not None:
            return price.output_tokens
        for key in (row.source, row.label):
            if key is not None and key in self.output_tokens:
                return self.output_tokens[key]
        return self.defaults.output_tokens

    def preference(self, task: str, models: Sequence[str]) -> list[str]:
        """``task``'s ranked list (else ``default``'s) restricted to ``models``; cheapest
        first when neither names any of them."""
        for key in (task, DEFAULT_ROUTE):
            ranked = [resolve(n, models) for n in self.policy.get(key, [])]
            kept = list(dict.fromkeys(m for m in ranked if m is not None))
            if kept:
                return kept
        return sorted(models, key=self.typical_cost)

    def typical_cost(self, model: str) -> float:
        """USD for a typical call (a prompt of TYPICAL_PROMPT_TOKENS): ranks models by price."""
        return self.call_cost(model, QualityRow("x" * 4 * TYPICAL_PROMPT_TOKENS, {}))


def load_prices(path: Path) -> Prices:
    """Raises: ConfigError: the file is missing, is not TOML, or does not validate."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError("file not found", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from exc
    try:
        return Prices.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(str(err["msg"]).removeprefix("Value error, "), path, key) from exc


# -- semroute's policy -----------------------------------------------------------------------


@runtime_checkable
class ScoredPolicy(Protocol):
    """A policy that also scores how much each prompt needs the strong model."""

    def __call__(self, texts: list[str]) -> list[str]: ...

    def hardness(self, texts: list[str]) -> list[float]: ...


@dataclass(slots=True)
class SemroutePolicy:
    """Classify with the centroids; take the first model of the task's preference (the
    ``default`` one when the match is not confident, as the router does).

    ``hardness`` = best score of a *hard* task (one whose first choice is not the cheapest
    model) minus the best score of any other task: above 0 ≈ the policy picks the strong model.
    """

    centroids: CentroidSet
    encoder: Encoder
    preference: dict[str, list[str]]
    hard: frozenset[str]
    batch: int = 128
    progress: bool = False
    _seen: dict[str, TaskMatch] = field(default_factory=dict)

    def matches(self, texts: list[str]) -> list[TaskMatch]:
        """Classify each text (each distinct text is embedded once, in batches)."""
        from training.fit import embed_examples

        new = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if new:
            vectors = embed_examples(self.encoder, new, batch=self.batch, progress=self.progress)
            self._seen.update(zip(new, self.centroids.classify(vectors), strict=True))
        return [self._seen[t] for t in texts]

    def route(self, match: TaskMatch) -> str:
        return match.task if match.confident and match.task in self.preference else DEFAULT_ROUTE

    def __call__(self, texts: list[str]) -> list[str]:
        return [self.preference[self.route(m)][0] for m in self.matches(texts)]

    def hardness(self, texts: list[str]) -> list[float]:
        def top(scores: Mapping[str, float], hard: bool) -> float:
            return max((s for t, s in scores.items() if (t in self.hard) == hard), default=-2.0)

        return [top(m.scores, True) - top(m.scores, False) for m in self.matches(texts)]


def semroute_policy(
    router_or_centroids: Router | CentroidSet,
    encoder: Encoder,
    prices: Prices,
    *,
    models: Sequence[str] | None = None,
    batch: int = 128,
    progress: bool = False,
) -> SemroutePolicy:
    """semroute's routing among ``models`` (default: every priced model), ranked per task by
    ``prices.policy``."""
    centroids = (
        router_or_centroids
        if isinstance(router_or_centroids, CentroidSet)
        else router_or_centroids.centroids
    )
    candidates = list(models or prices.models)
    routes = [*centroids.tasks, DEFAULT_ROUTE]
    preference = {t: prices.preference(t, candidates) for t in routes}
    cheapest = min(candidates, key=prices.typical_cost)
    hard = frozenset(t for t in centroids.tasks if preference[t][0] != cheapest)
    return SemroutePolicy(centroids, encoder, preference, hard, batch=batch, progress=progress)


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
    return evaluate_cost(rows, policy, prices, seed=seed)
