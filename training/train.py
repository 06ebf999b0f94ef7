"""`semroute train`: labelled rows → centroids (k per task chosen on validation) → a new version."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router.centroids import CentroidSet, EncoderInfo, Manifest
from router.config import EncoderConfig
from router.embedding import Encoder, Vectors
from training.dataset import TASKS, Dataset, Example, read_many, split
from training.evaluate import evaluate_matches
from training.fit import (
    calibrate_thresholds,
    choose_k,
    embed_examples,
    fit_prototypes,
    refine_lvq,
)
from training.publish import publish

log = logging.getLogger("semroute.train")


@dataclass(frozen=True, slots=True)
class TrainOptions:
    holdout: float = 0.2
    seed: int = 0
    k: int | None = None  # fixed k for every task; None → chosen on validation
    target_precision: float = 0.85
    lvq_epochs: int = 5  # 0 → plain k-means centroids
    promote: bool = False
    version: str | None = None
    progress: bool = True


@dataclass(frozen=True, slots=True)
class TrainResult:
    manifest: Manifest
    promoted: bool
    metrics: dict[str, Any]


def _weights(examples: Sequence[Example]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray([e.weight for e in examples], dtype=np.float64)


def train(
    paths: Sequence[Path],
    out: Path,
    encoder: Encoder,
    encoder_config: EncoderConfig,
    options: TrainOptions = TrainOptions(),
) -> TrainResult:
    """Fit, calibrate, evaluate on a held-out split, and write a new centroid version.

    Raises:
        InvalidRequest: a data file is missing or holds no usable rows.
        ArtifactError: the version cannot be written.
    """
    data = read_many(paths)
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
    thresholds = calibrate_thresholds(
        held.task_scores(x_val), y_val, tasks, options.target_precision
    )
    calibrated = CentroidSet(held.groups, thresholds)
    metrics = {"validation": evaluate_matches(y_val, calibrated.classify(x_val), tasks)}
    labels = [e.task for e in data.examples]
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
        promote=options.promote,
    )
    return TrainResult(manifest=manifest, promoted=promoted, metrics=metrics)


def _fit(
    x: Vectors,
    y: list[str],
    w: np.ndarray[Any, np.dtype[np.float64]],
    tasks: list[str],
    ks: dict[str, int],
    options: TrainOptions,
) -> CentroidSet:
    centroids = fit_prototypes(x, y, w, tasks, ks, options.seed)
    if options.lvq_epochs:
        centroids = refine_lvq(centroids, x, y, w, epochs=options.lvq_epochs, seed=options.seed)
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
    }
