"""The hold-out check's own failure modes: what it reads may be missing or stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.classify import load_centroids
from router.classify.quality_check import check
from router.errors import ArtifactError
from tests.fakes import HashingEncoder


def _holdout(tmp_path: Path) -> Path:
    path = tmp_path / "holdout.jsonl"
    rows = [{"text": "please fix this python bug", "task": "code"}, {"text": "hi", "task": "chat"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_missing_hold_out_is_an_artifact_error(
    tmp_path: Path, centroid_dir: Path, encoder: HashingEncoder
) -> None:
    """An ArtifactError (the cascade turns off, serving says why), not a FileNotFoundError."""
    centroids = load_centroids(centroid_dir, encoder_name=encoder.name, dim=encoder.dim)
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(ArtifactError, match=r"nowhere\.jsonl"):
        check(encoder, centroids, centroid_dir / "v1", "static", "d" * 64, holdout=missing)


def test_a_kept_verdict_of_another_shape_is_measured_again(
    tmp_path: Path, centroid_dir: Path, encoder: HashingEncoder
) -> None:
    centroids = load_centroids(centroid_dir, encoder_name=encoder.name, dim=encoder.dim)
    verdicts, holdout = tmp_path / "checks", _holdout(tmp_path)
    args = (encoder, centroids, centroid_dir / "v1", "static", "d" * 64)
    first = check(*args, verdicts=verdicts, holdout=holdout)
    (kept,) = verdicts.iterdir()
    kept.write_text(json.dumps({"recorded": None, "written_by": "an older semroute"}))
    assert check(*args, verdicts=verdicts, holdout=holdout) == first
