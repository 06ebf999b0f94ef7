"""Refits of the multilingual centroids over seeds, beside the shipped version and a control.

    python -m training.compare_refits [--recipe NAME=FILE[:WEIGHT][,FILE[:WEIGHT]...]]...
        [--seeds 0 1 2] [--out var/refits] [--json]

Each recipe is fitted once per seed with ``fit_multilingual`` (its files fitted on, not
calibrating the thresholds) into ``--out`` (a version already there is reused), and so is
``control``: the training files alone, which shows how much a seed alone moves a refit. Every
evaluation set is then routed as the service routes it — the configured static stage first,
then the refit as the multilingual stage — and scored like ``semroute eval``. The table is
the mean over the seeds of macro-F1 / routed accuracy per set, with the configured
multilingual version (what ships) on the first row. Without ``--recipe``: the shipped
recipe's added files (``SHIPPED_EXTRA``); ``--ensemble`` (default: the shipped fit's) pools
that many fits per refit. One memo of vectors serves every fit and
evaluation, so a USE forward pass is paid once a text (~3 min for three seeds and two
recipes on two cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from router.classify import (
    CentroidSet,
    FirstStage,
    MultilingualStage,
    build_first_stage,
    build_transformer,
    load_centroids,
)
from router.config import PROJECT_ROOT, Config, load_config
from router.encoders import Encoder, MicroBatcher, MultilingualEncoder
from training.dataset import weighted_file
from training.embed import MemoisedEncoder
from training.evaluate import evaluate_file
from training.fit_multilingual import ENSEMBLE, SHIPPED_EXTRA, fit_multilingual

DATA = PROJECT_ROOT / "training" / "data"
# The hand-labelled sets nothing is fitted on, and the shared dev split where it is checked out.
EVAL_SETS = {
    "oasst": DATA / "oasst_holdout.jsonl",
    "arena": DATA / "realistic_holdout.jsonl",
    "dolly": DATA / "dolly_holdout.jsonl",
    "multilingual": DATA / "multilingual_holdout.jsonl",
    "ml_chat": DATA / "multilingual_chat_holdout.jsonl",
    "dev": PROJECT_ROOT.parent / "shared" / "data" / "routing" / "dev.jsonl",
    "written": DATA / "eval_written.jsonl",
}
SHIPPED = "shipped"
CONTROL = "control"

Recipe = tuple[tuple[Path, float], ...]
Scores = dict[str, dict[str, float]]  # set → {"macro_f1", "routed"}


def recipe_option(spec: str) -> tuple[str, Recipe]:
    """``NAME=FILE[:WEIGHT][,FILE[:WEIGHT]...]`` (a ``--recipe``) → the name and its files."""
    name, sep, files = spec.partition("=")
    if not sep or not name or not files:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE[:WEIGHT],...: {spec!r}")
    if name in (SHIPPED, CONTROL):
        raise argparse.ArgumentTypeError(f"{name!r} is a row of its own; name the recipe else")
    return name, tuple(weighted_file(f) for f in files.split(","))


@dataclass(frozen=True, slots=True)
class Stages:
    """What routes an evaluation row beside the multilingual centroids under test."""

    encoder: Encoder  # the transformer (decides nothing when the multilingual scope is all)
    centroids: CentroidSet
    first_stage: FirstStage | None
    multilingual: Encoder  # memoised


def score(stages: Stages, centroids: CentroidSet, sets: Mapping[str, Path]) -> Scores:
    """Each set routed with ``centroids`` as the multilingual stage's (scope ``all``)."""
    encoder = stages.multilingual
    stage = MultilingualStage(encoder, centroids, "all", MicroBatcher(encoder))
    out: Scores = {}
    for name, path in sets.items():
        report = evaluate_file(
            path, stages.encoder, stages.centroids, stages.first_stage, stage, progress=False
        )
        out[name] = {"macro_f1": report["macro_f1"], "routed": report["routed"]["accuracy"]}
    return out


def compare(
    recipes: Mapping[str, Recipe],
    seeds: Sequence[int],
    out: Path,
    stages: Stages,
    sets: Mapping[str, Path],
    shipped: CentroidSet,
    fit: Callable[[Path, str, Recipe, int, Encoder], CentroidSet],
) -> dict[str, list[Scores]]:
    """Per row (the shipped version, the control, each recipe): one score per seed."""
    results: dict[str, list[Scores]] = {SHIPPED: [score(stages, shipped, sets)]}
    for name, files in {CONTROL: (), **recipes}.items():
        results[name] = [
            score(stages, fit(out, f"{name}-s{seed}", files, seed, stages.multilingual), sets)
            for seed in seeds
        ]
    return results


def table(results: Mapping[str, Sequence[Scores]]) -> str:
    """Markdown: per row the mean over seeds of macro-F1 / routed accuracy per set."""
    sets = list(next(iter(results.values()))[0])
    lines = [
        "| centroids | seeds | " + " | ".join(sets) + " |",
        "|---|---|" + "---|" * len(sets),
    ]
    for name, runs in results.items():
        cells = [f"{_mean(runs, s, 'macro_f1'):.3f} / {_mean(runs, s, 'routed'):.3f}" for s in sets]
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean(runs: Sequence[Scores], name: str, key: str) -> float:
    return statistics.fmean(r[name][key] for r in runs)


def _fitter(ensemble: int) -> Callable[[Path, str, Recipe, int, Encoder], CentroidSet]:
    def fit(out: Path, version: str, files: Recipe, seed: int, encoder: Encoder) -> CentroidSet:
        version = version if ensemble == 1 else f"{version}-e{ensemble}"
        if not (out / version).exists():
            fit_multilingual(
                out, version, extra=files, seed=seed, encoder=encoder, ensemble=ensemble
            )
        return load_centroids(out, version, encoder_name=encoder.name, dim=encoder.dim)

    return fit


def _stages(config: Config) -> tuple[Stages, CentroidSet]:
    encoder, loaded = build_transformer(config)
    centroids = loaded or load_centroids(
        config.routing.centroids_dir,
        config.routing.centroid_version,
        encoder_name=encoder.name,
        dim=encoder.dim,
    )
    multilingual = MemoisedEncoder(MultilingualEncoder())
    shipped = load_centroids(
        config.routing.centroids_dir,
        config.encoder.multilingual.centroid_version,
        encoder_name=multilingual.name,
        dim=multilingual.dim,
    )
    return Stages(encoder, centroids, build_first_stage(config), multilingual), shipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.compare_refits")
    parser.add_argument(
        "--recipe",
        action="append",
        type=recipe_option,
        default=[],
        metavar="NAME=FILE[:WEIGHT],...",
        help="files added to the training files (default: shipped=the shipped recipe's)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "refits")
    parser.add_argument(
        "--ensemble", type=int, default=ENSEMBLE, help="fits pooled per refit; 1: one fit"
    )
    parser.add_argument("--json", action="store_true", help="every score, not the table")
    args = parser.parse_args(argv)
    recipes = dict(args.recipe) or {"recipe": SHIPPED_EXTRA}
    sets = {name: path for name, path in EVAL_SETS.items() if path.exists()}
    stages, shipped = _stages(load_config())
    args.out.mkdir(parents=True, exist_ok=True)
    results = compare(recipes, args.seeds, args.out, stages, sets, shipped, _fitter(args.ensemble))
    print(json.dumps(results) if args.json else table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
