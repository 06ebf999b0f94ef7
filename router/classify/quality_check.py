"""The hold-out check for encoder files that depend on the machine they run on.

The int8 ONNX export is quantised on each machine (its kernels differ with the CPU: VNNI or
not) and every encoder's floats differ a little from one CPU to another. Nothing of that is
compared byte for byte with what was built elsewhere; instead the encoder, with the centroids
it serves, routes the project's own hold-out, and its macro-F1 must stay within ``TOLERANCE``
of the figure recorded (``quality_check.json`` in the centroid version) with the shipped
artifacts on the machine that fitted them. ``semroute prepare`` runs the checks (``--record``
writes the figures); serving reuses the verdict kept in ``var/checks/``, or checks at start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from router.classify.centroids import CentroidSet, load_centroids
from router.config import PROJECT_ROOT
from router.encoders import Encoder
from router.errors import ArtifactError

log = logging.getLogger("semroute.encoder")

HOLDOUT = PROJECT_ROOT / "training" / "data" / "eval_written.jsonl"
RECORD_FILE = "quality_check.json"
VERDICTS = PROJECT_ROOT / "var" / "checks"
TOLERANCE = 0.01
UNKNOWN = "unknown"  # what a not-confident match routes as: the default route


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One encoder file with one centroid version on the hold-out."""

    artifact: str  # "static" (the cascade's first stage) or the transformer backend
    digest: str  # of the encoder file checked
    centroids: str
    macro_f1: float
    recorded: float | None  # None: nothing recorded to compare with (not checked)
    passed: bool

    def describe(self) -> str:
        if self.recorded is None:
            return (
                f"{self.artifact} with {self.centroids}: hold-out macro-F1 {self.macro_f1:.4f}, "
                "no recorded figure to compare with"
            )
        verdict = "within" if self.passed else "NOT within"
        return (
            f"{self.artifact} with {self.centroids}: hold-out macro-F1 {self.macro_f1:.4f} vs "
            f"{self.recorded:.4f} recorded ({verdict} {TOLERANCE})"
        )


OnCheck = Callable[[QualityCheck], None]


def checked_centroids(
    encoder: Encoder,
    centroids_dir: Path,
    version: str,
    artifact: str,
    digest: str,
    *,
    fitted_file: str,
    fix: str,
    weights: str | None = None,
    recorded_as: str | None = None,
    blame: Path | None = None,
    on_check: OnCheck | None = None,
) -> CentroidSet:
    """Centroid ``version`` for ``encoder`` (its file's ``digest``), checked with it on the
    hold-out: the encoder need not be byte for byte the one they were fitted on (the digest
    ``fitted_file`` in the version records; logged when it differs), but it must route as well.
    ``weights``: the digest to compare with that record when ``digest`` is of a file derived
    from the weights (an ONNX export of them); default ``digest``. ``recorded_as``: the
    artifact whose recorded figure it is held to (default ``artifact``).

    Raises:
        ArtifactError: the centroids do not load, or together they fail the check (``fix``
            says what to do; the error names ``blame``, default the centroid version).
    """
    centroids = load_centroids(centroids_dir, version, encoder_name=encoder.name, dim=encoder.dim)
    version_dir = centroids_dir / centroids.version
    verdict = check(encoder, centroids, version_dir, artifact, digest, recorded_as=recorded_as)
    if on_check is not None:
        on_check(verdict)
    if not verdict.passed:
        message = f"hold-out check failed: {verdict.describe()} — {fix}"
        raise ArtifactError(message, path=blame or version_dir)
    fitted = (_read_json(version_dir / fitted_file) or {}).get("sha256")
    served = weights or digest
    if isinstance(fitted, str) and fitted != served:
        log.warning(
            "%s %s… is not the one %s was fitted on (%s…); hold-out check passed: %s",
            artifact,
            served[:12],
            centroids.version,
            fitted[:12],
            verdict.describe(),
        )
    return centroids


def holdout_rows(path: Path = HOLDOUT) -> list[tuple[str, str]]:
    """(text, task) pairs of the hold-out file."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(str(r["text"]), str(r["task"])) for r in rows]


def holdout_f1(encoder: Encoder, centroids: CentroidSet, rows: list[tuple[str, str]]) -> float:
    """Macro-F1 over the hold-out's tasks, a not-confident match counting as the default route
    (as serving routes it)."""
    vectors = encoder.encode([encoder.fit_window(text)[0] for text, _ in rows])
    predicted = [m.task if m.confident else UNKNOWN for m in centroids.classify(vectors)]
    return round(macro_f1([task for _, task in rows], predicted), 4)


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    """Unweighted mean of per-task F1 over the gold tasks."""
    scores = []
    for task in sorted(set(gold)):
        tp = sum(g == p == task for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == task != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == task != p for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def check(
    encoder: Encoder,
    centroids: CentroidSet,
    version_dir: Path,
    artifact: str,
    digest: str,
    *,
    verdicts: Path = VERDICTS,
    holdout: Path = HOLDOUT,
    recorded_as: str | None = None,
) -> QualityCheck:
    """The verdict for ``encoder`` (its file's ``digest``) with ``centroids``: kept from an
    earlier check of the same files, or measured now (seconds: one pass over the hold-out).

    Raises:
        ArtifactError: the hold-out cannot be read.
    """
    rows_digest = _digest(holdout)
    fitted = centroids.manifest.sha256[:12] if centroids.manifest else "unversioned"
    key = f"{artifact}-{digest[:16]}-{centroids.version}-{fitted}-{rows_digest[:12]}"
    recorded = recorded_f1(version_dir, recorded_as or artifact, rows_digest)
    kept = _kept(verdicts / f"{key}.json")
    if kept is not None and kept.recorded == recorded:  # same files, same figure
        return kept
    measured = holdout_f1(encoder, centroids, holdout_rows(holdout))
    passed = recorded is None or measured >= recorded - TOLERANCE
    result = QualityCheck(artifact, digest, centroids.version, measured, recorded, passed)
    _write_json(verdicts / f"{key}.json", asdict(result))
    return result


def _digest(holdout: Path) -> str:
    try:
        return hashlib.sha256(holdout.read_bytes()).hexdigest()
    except OSError as exc:
        raise ArtifactError(f"the hold-out cannot be read ({exc.strerror})", path=holdout) from exc


def _kept(path: Path) -> QualityCheck | None:
    """A verdict kept by an earlier check; None when absent or not of this version's shape."""
    kept = _read_json(path)
    try:
        return None if kept is None else QualityCheck(**kept)
    except TypeError:
        return None


def recorded_f1(version_dir: Path, artifact: str, rows_digest: str) -> float | None:
    """The figure recorded for ``artifact`` on this hold-out in a centroid version, if any."""
    record = _read_json(version_dir / RECORD_FILE) or {}
    if record.get("holdout_sha256") != rows_digest:
        if record:
            log.warning(
                "%s: quality figures were recorded on another hold-out; re-record them "
                "(semroute prepare --record)",
                version_dir.name,
            )
        return None
    value = record.get("macro_f1", {}).get(artifact)
    return float(value) if isinstance(value, int | float) else None


def record(
    encoder: Encoder,
    centroids: CentroidSet,
    version_dir: Path,
    artifact: str,
    holdout: Path = HOLDOUT,
) -> float:
    """Measure ``artifact`` with ``centroids`` on the hold-out and record it in the version."""
    measured = holdout_f1(encoder, centroids, holdout_rows(holdout))
    path = version_dir / RECORD_FILE
    rows_digest = _digest(holdout)
    current = _read_json(path) or {}
    figures = current.get("macro_f1", {}) if current.get("holdout_sha256") == rows_digest else {}
    figures[artifact] = measured
    _write_json(
        path,
        {
            "holdout": _shown(holdout),
            "holdout_sha256": rows_digest,
            "tolerance": TOLERANCE,
            "macro_f1": dict(sorted(figures.items())),
        },
    )
    return measured


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Atomically; a verdict that cannot be kept is measured again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}-{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(value, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc)
