"""Fit task centroids (k-means per task, k chosen on validation) and calibrate thresholds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans

from router.classify import CentroidSet
from router.encoders import Vectors, normalise
from training.evaluate import classification_report, macro_f1

K_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16)
MIN_ROWS_PER_CENTROID = 4


def kmeans_centroids(
    vectors: Vectors, k: int, seed: int, weights: npt.NDArray[np.float64] | None = None
) -> Vectors:
    """``k`` unit centroids for one task's vectors (k is capped by the row count)."""
    k = max(1, min(k, len(vectors) // MIN_ROWS_PER_CENTROID or 1))
    if k == 1:
        mean = np.average(vectors, axis=0, weights=weights)
        return normalise(mean[None, :])
    km = KMeans(n_clusters=k, n_init=4, random_state=seed)
    km.fit(vectors, sample_weight=weights)
    return normalise(km.cluster_centers_)


def fit_prototypes(
    vectors: Vectors,
    labels: Sequence[str],
    weights: npt.NDArray[np.float64],
    tasks: Sequence[str],
    k: Mapping[str, int],
    seed: int,
) -> CentroidSet:
    """Unthresholded centroids for ``tasks`` (every row of ``labels`` must be one of them)."""
    arr = np.asarray(labels)
    return CentroidSet(
        {t: kmeans_centroids(vectors[arr == t], k[t], seed, weights[arr == t]) for t in tasks}
    )


def choose_k(
    train: tuple[Vectors, Sequence[str], npt.NDArray[np.float64]],
    val: tuple[Vectors, Sequence[str]],
    tasks: Sequence[str],
    seed: int,
    choices: Sequence[int] = K_CHOICES,
) -> tuple[dict[str, int], float]:
    """Coordinate ascent on validation macro-F1, one task's k at a time (two sweeps)."""
    x, y, w = train
    arr = np.asarray(y)
    cache: dict[tuple[str, int], Vectors] = {}

    def group(task: str, k: int) -> Vectors:
        if (task, k) not in cache:
            cache[(task, k)] = kmeans_centroids(x[arr == task], k, seed, w[arr == task])
        return cache[(task, k)]

    def score(ks: Mapping[str, int]) -> float:
        protos = CentroidSet({t: group(t, ks[t]) for t in tasks})
        stats, _ = classification_report(val[1], protos.predict(val[0]), tasks)
        return macro_f1(stats)

    best = dict.fromkeys(tasks, 1)
    best_score = score(best)
    for _ in range(2):
        for task in tasks:
            for k in choices:
                trial = {**best, task: k}
                s = score(trial)
                if s > best_score + 1e-9:
                    best, best_score = trial, s
    return best, best_score


def calibrate_thresholds(
    scores: npt.NDArray[np.float32],
    truth: Sequence[str],
    tasks: Sequence[str],
    target_precision: float = 0.85,
    floor: float = 0.0,
) -> dict[str, float]:
    """Per task: the lowest top-score threshold at which predictions of that task reach
    ``target_precision`` on held-out rows. Tasks that never reach it get the threshold
    that maximises precision over the top half of their predictions."""
    top = np.argmax(scores, axis=1)
    best_score = scores[np.arange(len(scores)), top]
    thresholds: dict[str, float] = {}
    for i, task in enumerate(tasks):
        mask = top == i
        if not mask.any():
            thresholds[task] = floor
            continue
        s = best_score[mask]
        ok = np.asarray(truth)[mask] == task
        order = np.argsort(-s)
        precision = np.cumsum(ok[order]) / np.arange(1, len(order) + 1)
        reach = np.nonzero(precision >= target_precision)[0]
        cut = int(reach.max()) if len(reach) else len(order) // 2
        thresholds[task] = round(max(float(s[order][cut]), floor), 4)
    return thresholds


def refine_lvq(
    centroids: CentroidSet,
    vectors: Vectors,
    labels: Sequence[str],
    weights: npt.NDArray[np.float64],
    *,
    epochs: int = 5,
    learning_rate: float = 0.05,
    margin: float = 0.02,
    seed: int = 0,
) -> CentroidSet:
    """Sharpen k-means centroids discriminatively (LVQ2-style, on the unit sphere).

    For each row whose best wrong centroid comes within ``margin`` of its best right one,
    pull the right centroid towards the row and push the wrong one away. k-means places
    centroids where a task's rows are dense; this moves them where tasks border each other.
    """
    rng = np.random.default_rng(seed)
    matrix = centroids.matrix.copy()
    owner = np.repeat(np.arange(len(centroids.tasks)), [len(g) for g in centroids.groups.values()])
    index = {t: i for i, t in enumerate(centroids.tasks)}
    truth = np.asarray([index[t] for t in labels])
    for epoch in range(epochs):
        rate = learning_rate * (1 - epoch / epochs)
        for j in rng.permutation(len(vectors)):
            x, own = vectors[j], owner == truth[j]
            sims = matrix @ x
            right = int(np.argmax(np.where(own, sims, -np.inf)))
            wrong = int(np.argmax(np.where(own, -np.inf, sims)))
            if sims[wrong] + margin > sims[right]:
                step = rate * weights[j]
                matrix[right] += step * (x - matrix[right])
                matrix[wrong] -= step * (x - matrix[wrong])
                matrix[[right, wrong]] = normalise(matrix[[right, wrong]])
    groups = {t: matrix[owner == i] for i, t in enumerate(centroids.tasks)}
    return CentroidSet(groups, centroids.thresholds)
