"""`semroute train`: labelled rows → centroids (k per task chosen on validation) → a new version."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from router.classify import CentroidSet, EncoderInfo, Manifest
from router.config import EncoderConfig
from router.encoders import Encoder, Vectors
from router.errors import InvalidRequest
from training.dataset import TASKS, Dataset, Example, fold_of, split
from training.embed import embed_examples
from training.evaluate import evaluate_matches
from training.fit import (
    calibrate_thresholds,
    choose_k,
    fit_prototypes,
    refine_lvq,
)
from training.gate import GateResult, promotion_gate
from training.publish import publish
from training.report import write_report

log = logging.getLogger("semroute.train")


@dataclass(frozen=True, slots=True)
class TrainOptions:
    holdout: float = 0.2
    seed: int = 0
    k: int | None = None  # fixed k for every task; None → chosen on validation
    target_precision: float = 0.85
    lvq_epochs: int = 5  # 0 → plain k-means centroids
    max_recall_drop: float = 0.05  # promotion gate: any task's recall may drop at most this
    promote: bool = False
    version: str | None = None
    progress: bool = True
    # Sources whose held-out rows do not calibrate the thresholds (they are still fitted on and
    # scored): rows noisier than the project's own labels would otherwise raise every
    # threshold until their precision met the target, and send clear requests to the default.
    uncalibrated_sources: frozenset[str] = frozenset()
    # Thresholds from out-of-fold scores of every row (each fold scored by centroids fitted on
    # the others, with the chosen k): five times the rows of one held-out split. Measured on
    # the multilingual refits: routed accuracy +0.013 on average, but a seed moves a threshold
    # as much as before (README, "Routing quality"). 1 → calibrated on the held-out split alone.
    calibration_folds: int = 5
    # Fits pooled per version: each task's centroids are the union of ``ensemble`` fits with
    # seeds seed, seed + 1, … (k-means and LVQ each). One fit's k-means start moves a task's
    # border, and with it the threshold calibrated on it; the union averages that out.
    ensemble: int = 1


@dataclass(frozen=True, slots=True)
class TrainResult:
    manifest: Manifest
    promoted: bool
    metrics: dict[str, Any]
    gate: GateResult | None = None  # None: nothing was live to compare with


def _weights(examples: Sequence[Example]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray([e.weight for e in examples], dtype=np.float64)


def train(
    data: Dataset,
    out: Path,
    encoder: Encoder,
    encoder_config: EncoderConfig,
    options: TrainOptions = TrainOptions(),
    live: CentroidSet | None = None,
    gate_data: Dataset | None = None,
) -> TrainResult:
    """Fit, calibrate, evaluate on a held-out split, and write a new centroid version.

    With ``live`` (the centroids in service), both are scored on rows neither was fitted on —
    ``gate_data`` (a trusted labelled set) plus this run's held-out feedback rows — and the
    promotion gate decides; ``options.promote`` only promotes a candidate it accepts.

    Raises:
        InvalidRequest: the data holds no usable rows.
        ArtifactError: the version cannot be written.
    """
    if not data.examples:
        raise InvalidRequest("no labelled rows to train on", param="data")
    tasks = [t for t in TASKS if t in data.counts()]
    fit_rows, val_rows = split(data.examples, options.holdout, options.seed)
    vectors = embed_examples(encoder, [e.text for e in data.examples], progress=options.progress)
    index = {id(e): i for i, e in enumerate(data.examples)}
    x_fit = vectors[[index[id(e)] for e in fit_rows]]
    x_val = vectors[[index[id(e)] for e in val_rows]]
    y_fit, y_val = [e.task for e in fit_rows], [e.task for e in val_rows]
    if options.k is None:
        ks, _ = choose_k((x_fit, y_fit, _weights(fit_rows)), (x_val, y_val), tasks, options.seed)
    else:
        ks = dict.fromkeys(tasks, options.k)
    log.info("centroids per task: %s", ks)
    held = _fit(x_fit, y_fit, _weights(fit_rows), tasks, ks, options)
    labels = [e.task for e in data.examples]
    if options.calibration_folds > 1:
        scored = list(data.examples)
        scores = _cross_fitted_scores(data, vectors, tasks, ks, options)
    else:
        scored, scores = val_rows, held.task_scores(x_val)
    calibrating = [i for i, e in enumerate(scored) if e.source not in options.uncalibrated_sources]
    thresholds = calibrate_thresholds(
        scores[calibrating], [scored[i].task for i in calibrating], tasks, options.target_precision
    )
    calibrated = CentroidSet(held.groups, thresholds)
    metrics: dict[str, Any] = {
        "validation": evaluate_matches(y_val, calibrated.classify(x_val), tasks)
    }
    if options.calibration_folds > 1:
        metrics["cross_validation"] = evaluate_matches(
            labels, calibrated.classify_scores(scores), tasks
        )
    gate = None
    if live is not None:
        # Only rows the live version was not fitted on are fair: the trusted set, plus this
        # run's held-out feedback rows (new to both).
        fresh = [i for i, e in enumerate(val_rows) if e.source in ("feedback", "weak")]
        x_gate, y_gate = x_val[fresh], [y_val[i] for i in fresh]
        if gate_data is not None and gate_data.examples:
            x_trusted = embed_examples(
                encoder, [e.text for e in gate_data.examples], progress=False
            )
            x_gate = np.concatenate([x_trusted, x_gate])
            y_gate = [e.task for e in gate_data.examples] + y_gate
        # The candidate as it will ship (fitted on everything) minus the held-out feedback rows,
        # so that every gate row is unseen by both versions.
        unseen = {id(val_rows[i]) for i in fresh}
        keep = [i for i, e in enumerate(data.examples) if id(e) not in unseen]
        weights = _weights(data.examples)[keep]
        kept_labels = [data.examples[i].task for i in keep]
        shipped_like = _fit(vectors[keep], kept_labels, weights, tasks, ks, options)
        candidate = CentroidSet(shipped_like.groups, thresholds)
        gate = _gate(candidate, live, x_gate, y_gate, tasks, options, metrics)
    final = _fit(vectors, labels, _weights(data.examples), tasks, ks, options)
    manifest, promoted = publish(
        out,
        final,
        thresholds,
        encoder=EncoderInfo(
            name=encoder.name,
            dim=encoder.dim,
            max_seq_tokens=encoder_config.max_seq_tokens,
            truncation=encoder_config.truncation,
        ),
        training=_provenance(data, ks, options),
        metrics=metrics,
        version=options.version,
        promote=options.promote and (gate is None or gate.accepted),
    )
    write_report(out / manifest.version, {**metrics, "training": manifest.training})
    return TrainResult(manifest=manifest, promoted=promoted, metrics=metrics, gate=gate)


def _gate(
    candidate: CentroidSet,
    live: CentroidSet,
    x: Vectors,
    y: list[str],
    tasks: list[str],
    options: TrainOptions,
    metrics: dict[str, Any],
) -> GateResult:
    kept = [i for i, t in enumerate(y) if t in tasks and t in live.tasks]
    truth = [y[i] for i in kept]
    metrics["gate_rows"] = len(kept)
    if not kept:
        gate = GateResult(False, ["no rows to compare on: give --gate-data (a trusted set)"])
        metrics["gate"] = gate.as_dict()
        return gate
    metrics["candidate_on_gate_rows"] = evaluate_matches(truth, candidate.classify(x[kept]), tasks)
    metrics["live_validation"] = evaluate_matches(truth, live.classify(x[kept]), live.tasks)
    metrics["live_version"] = live.version
    gate = promotion_gate(
        metrics["candidate_on_gate_rows"],
        metrics["live_validation"],
        max_recall_drop=options.max_recall_drop,
    )
    metrics["gate"] = gate.as_dict()
    return gate


def _cross_fitted_scores(
    data: Dataset,
    vectors: Vectors,
    tasks: list[str],
    ks: dict[str, int],
    options: TrainOptions,
) -> npt.NDArray[np.float32]:
    """Each row's task scores from centroids fitted without its fold."""
    fold = np.asarray(fold_of(data.examples, options.calibration_folds, options.seed))
    labels = np.asarray([e.task for e in data.examples])
    weights = _weights(data.examples)
    scores = np.zeros((len(data.examples), len(tasks)), np.float32)
    for f in range(options.calibration_folds):
        out, keep = fold == f, fold != f
        if not out.any():
            continue
        present = [t for t in tasks if (labels[keep] == t).any()]
        fitted = _fit(vectors[keep], list(labels[keep]), weights[keep], present, ks, options)
        fitted_scores = fitted.task_scores(vectors[out])
        # A task with no rows left in the other folds scores nothing here.
        columns = [fitted.tasks.index(t) if t in fitted.tasks else -1 for t in tasks]
        scores[out] = np.where(
            np.asarray(columns) >= 0, fitted_scores[:, np.maximum(columns, 0)], -1.0
        )
    return scores


def _fit(
    x: Vectors,
    y: list[str],
    w: np.ndarray[Any, np.dtype[np.float64]],
    tasks: list[str],
    ks: dict[str, int],
    options: TrainOptions,
) -> CentroidSet:
    members = [
        _fit_one(x, y, w, tasks, ks, options.lvq_epochs, options.seed + m)
        for m in range(max(1, options.ensemble))
    ]
    if len(members) == 1:
        return members[0]
    return CentroidSet({t: np.concatenate([m.groups[t] for m in members]) for t in tasks})


def _fit_one(
    x: Vectors,
    y: list[str],
    w: np.ndarray[Any, np.dtype[np.float64]],
    tasks: list[str],
    ks: dict[str, int],
    lvq_epochs: int,
    seed: int,
) -> CentroidSet:
    centroids = fit_prototypes(x, y, w, tasks, ks, seed)
    if lvq_epochs:
        centroids = refine_lvq(centroids, x, y, w, epochs=lvq_epochs, seed=seed)
    return centroids


def _provenance(data: Dataset, ks: dict[str, int], options: TrainOptions) -> dict[str, Any]:
    return {
        "files": data.files,
        "counts": data.counts(),
        "outside_taxonomy": dict(data.outside_taxonomy),
        "invalid_rows": data.invalid_rows,
        "k_per_task": ks,
        "seed": options.seed,
        "holdout": options.holdout,
        "target_precision": options.target_precision,
        "lvq_epochs": options.lvq_epochs,
        "calibration_folds": options.calibration_folds,
        "ensemble": options.ensemble,
        "sources": dict(Counter(e.source for e in data.examples)),
        **(
            {"uncalibrated_sources": sorted(options.uncalibrated_sources)}
            if options.uncalibrated_sources
            else {}
        ),
    }
