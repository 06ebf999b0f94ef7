"""Task centroids: the classifier and its versioned on-disk artifact.

Layout::

    centroids/
      CURRENT                 one line: the live version
      <version>/centroids.npy float32 (n_centroids, dim), grouped by task in manifest order
      <version>/manifest.json schema, encoder, tasks (+ centroid counts, thresholds), provenance,
                              metrics, sha256 of centroids.npy
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.encoders import Vectors
from router.errors import ArtifactError
from router.types import TaskMatch

SCHEMA_VERSION = 1
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class TaskEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    centroids: int = Field(gt=0)
    threshold: float = Field(ge=-1, le=1)


class EncoderInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    dim: int = Field(gt=0)
    max_seq_tokens: int = 256
    truncation: str = "head_tail"


class Manifest(BaseModel):
    """manifest.json of one centroid version."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: int
    version: str
    created_at: str
    encoder: EncoderInfo
    tasks: list[TaskEntry] = Field(min_length=1)
    min_margin: float = Field(default=0.0, ge=0)
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    sha256: str


def group_starts(counts: Sequence[int]) -> npt.NDArray[np.intp]:
    """Row offsets of each task's first centroid in a task-grouped matrix."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)


def task_scores(
    vectors: Vectors, matrix: Vectors, starts: npt.NDArray[np.intp]
) -> npt.NDArray[np.float32]:
    """Max cosine over each task's centroids: (n, dim) x (c, dim) → (n, n_tasks)."""
    sims = np.atleast_2d(vectors) @ matrix.T
    return np.maximum.reduceat(sims, starts, axis=1).astype(np.float32)


class CentroidSet:
    """Unit centroids grouped by task; a task's score is its best centroid's cosine."""

    def __init__(
        self,
        groups: Mapping[str, Vectors],
        thresholds: Mapping[str, float] | None = None,
        *,
        version: str = "",
        min_margin: float = 0.0,
        manifest: Manifest | None = None,
    ) -> None:
        self.tasks: tuple[str, ...] = tuple(groups)
        self.groups = dict(groups)
        self.thresholds: Mapping[str, float] = dict(thresholds or dict.fromkeys(groups, -1.0))
        self.version = version
        self.min_margin = min_margin
        self.manifest = manifest
        self.matrix = np.ascontiguousarray(np.concatenate(list(groups.values())), np.float32)
        self._starts = group_starts([len(g) for g in groups.values()])

    @classmethod
    def from_manifest(cls, manifest: Manifest, matrix: Vectors) -> CentroidSet:
        bounds = np.cumsum([t.centroids for t in manifest.tasks])[:-1]
        groups = dict(zip((t.name for t in manifest.tasks), np.split(matrix, bounds), strict=True))
        thresholds = {t.name: t.threshold for t in manifest.tasks}
        return cls(
            groups,
            thresholds,
            version=manifest.version,
            min_margin=manifest.min_margin,
            manifest=manifest,
        )

    def task_scores(self, vectors: Vectors) -> npt.NDArray[np.float32]:
        """Per-task scores for a batch: (n, dim) → (n, n_tasks)."""
        return task_scores(vectors, self.matrix, self._starts)

    def predict(self, vectors: Vectors) -> list[str]:
        """Top task per row (ignores thresholds)."""
        return [self.tasks[i] for i in np.argmax(self.task_scores(vectors), axis=1)]

    def classify(self, vectors: Vectors) -> list[TaskMatch]:
        """Classify each row; never raises for a well-shaped batch."""
        return self.classify_scores(self.task_scores(vectors))

    def classify_scores(self, scores: npt.NDArray[np.float32]) -> list[TaskMatch]:
        """``classify`` for rows already scored per task (``task_scores``' columns)."""
        return [self._match(row) for row in scores]

    def _match(self, row: npt.NDArray[np.float32]) -> TaskMatch:
        order = np.argsort(-row, kind="stable")
        best = int(order[0])
        task = self.tasks[best]
        margin = float(row[best] - row[order[1]]) if len(order) > 1 else float(row[best])
        threshold = self.thresholds[task]
        confident = bool(row[best] >= threshold and margin >= self.min_margin)
        return TaskMatch(
            task=task,
            scores={t: round(float(s), 6) for t, s in zip(self.tasks, row, strict=True)},
            margin=round(margin, 6),
            confident=confident,
            threshold=threshold,
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# What a newcomer needs to hear when the centroids are not where the config says.
_CENTROIDS_FIX = (
    "set routing.centroids_dir to a directory of centroid versions (leave it unset for the "
    "ones semroute ships, in {shipped}), or fit some there with "
    "`semroute train --out {{root}} --promote`"
).format(shipped=Path(__file__).resolve().parent.parent / "centroids")


def current_version(root: Path) -> str:
    """The version named by ``root/CURRENT``.

    Raises:
        ArtifactError: CURRENT is missing or empty.
    """
    marker = root / "CURRENT"
    try:
        version = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ArtifactError(
            f"no CURRENT file in {root}: {_CENTROIDS_FIX.format(root=root)}", path=marker
        ) from None
    if not version:
        raise ArtifactError(f"CURRENT is empty: {_CENTROIDS_FIX.format(root=root)}", path=marker)
    return version


def load_centroids(
    root: Path, version: str | None = None, *, encoder_name: str, dim: int
) -> CentroidSet:
    """Load and verify one centroid version (default: the one CURRENT names).

    Raises:
        ArtifactError: missing files, bad manifest, hash mismatch, or an encoder mismatch.
    """
    version = version or current_version(root)
    folder = root / version
    try:
        manifest = Manifest.model_validate_json((folder / "manifest.json").read_bytes())
        blob = (folder / "centroids.npy").read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactError("missing artifact file", path=Path(exc.filename)) from None
    except ValidationError as exc:
        raise ArtifactError(f"invalid manifest: {exc.errors()[0]['msg']}", path=folder) from exc
    _verify(manifest, blob, folder, encoder_name=encoder_name, dim=dim)
    matrix = np.load(io.BytesIO(blob), allow_pickle=False).astype(np.float32)
    expected = (sum(t.centroids for t in manifest.tasks), dim)
    if matrix.shape != expected:
        raise ArtifactError(f"centroids.npy has shape {matrix.shape}, expected {expected}", folder)
    return CentroidSet.from_manifest(manifest, matrix)


def _verify(manifest: Manifest, blob: bytes, folder: Path, *, encoder_name: str, dim: int) -> None:
    if manifest.schema_version != SCHEMA_VERSION:
        raise ArtifactError(
            f"schema_version {manifest.schema_version}, this build reads {SCHEMA_VERSION}", folder
        )
    if _sha256(blob) != manifest.sha256:
        raise ArtifactError("centroids.npy does not match the sha256 in manifest.json", folder)
    if manifest.encoder.name != encoder_name:
        raise ArtifactError(
            f"built for encoder {manifest.encoder.name!r}, the service runs {encoder_name!r}",
            folder,
        )
    if manifest.encoder.dim != dim:
        raise ArtifactError(
            f"built for dimension {manifest.encoder.dim}, the encoder gives {dim}", folder
        )


def write_centroids(
    root: Path,
    version: str,
    *,
    tasks: Sequence[tuple[str, Vectors, float]],
    encoder: EncoderInfo,
    min_margin: float = 0.0,
    training: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    created_at: str,
) -> Manifest:
    """Write ``root/<version>/`` from (task, centroids, threshold) triples; never overwrites.

    Raises:
        ArtifactError: the version name is invalid or already exists.
    """
    if not _VERSION_RE.match(version):
        raise ArtifactError(f"invalid version name {version!r}")
    folder = root / version
    if folder.exists():
        raise ArtifactError("version already exists", path=folder)
    matrix = np.concatenate([c for _, c, _ in tasks]).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, matrix, allow_pickle=False)
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        version=version,
        created_at=created_at,
        encoder=encoder,
        tasks=[TaskEntry(name=n, centroids=len(c), threshold=t) for n, c, t in tasks],
        min_margin=min_margin,
        training=dict(training or {}),
        metrics=dict(metrics or {}),
        sha256=_sha256(buf.getvalue()),
    )
    folder.mkdir(parents=True)
    (folder / "centroids.npy").write_bytes(buf.getvalue())
    (folder / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n")
    return manifest


def set_current(root: Path, version: str) -> None:
    """Point CURRENT at ``version`` atomically (write + rename).

    Raises:
        ArtifactError: the version does not exist.
    """
    if not (root / version / "manifest.json").is_file():
        raise ArtifactError("cannot promote a version that does not exist", path=root / version)
    tmp = root / f".CURRENT.{os.getpid()}"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(root / "CURRENT")


def list_versions(root: Path) -> list[str]:
    """Versions present under ``root`` (directories with a manifest), sorted by name."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file())
