from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from router.classify.centroids import (
    CentroidSet,
    EncoderInfo,
    current_version,
    list_versions,
    load_centroids,
    set_current,
    write_centroids,
)
from router.errors import ArtifactError
from tests.conftest import unit
from tests.fakes import HashingEncoder


def _write(root: Path, version: str = "v1", dim: int = 3, name: str = "enc") -> None:
    tasks = [
        ("a", np.stack([unit([1, 0, 0]), unit([0, 1, 0])]), 0.5),
        ("b", np.stack([unit([0, 0, 1])]), 0.9),
    ]
    write_centroids(
        root,
        version,
        tasks=tasks,
        encoder=EncoderInfo(name=name, dim=dim),
        training={"counts": {"a": 10, "b": 5}},
        metrics={"macro_f1": 0.9},
        created_at="2026-01-01T00:00:00",
    )


def test_round_trip_and_manifest(tmp_path: Path) -> None:
    _write(tmp_path)
    set_current(tmp_path, "v1")
    cs = load_centroids(tmp_path, encoder_name="enc", dim=3)
    assert cs.version == "v1" and cs.tasks == ("a", "b")
    manifest = json.loads((tmp_path / "v1" / "manifest.json").read_text())
    assert manifest["tasks"] == [
        {"name": "a", "centroids": 2, "threshold": 0.5},
        {"name": "b", "centroids": 1, "threshold": 0.9},
    ]
    assert manifest["encoder"]["dim"] == 3 and len(manifest["sha256"]) == 64
    assert manifest["training"]["counts"] == {"a": 10, "b": 5}
    assert list_versions(tmp_path) == ["v1"] and current_version(tmp_path) == "v1"


def test_score_is_max_over_a_tasks_centroids(tmp_path: Path) -> None:
    _write(tmp_path)
    cs = load_centroids(tmp_path, "v1", encoder_name="enc", dim=3)
    (m,) = cs.classify(unit([0, 1, 0.1])[None, :])
    assert m.task == "a"
    assert m.scores["a"] == pytest.approx(float(unit([0, 1, 0.1])[1]), abs=1e-5)
    assert m.margin == pytest.approx(m.scores["a"] - m.scores["b"], abs=1e-5)
    assert m.confident  # 0.995 >= 0.5


def test_confidence_uses_the_winning_tasks_threshold(tmp_path: Path) -> None:
    _write(tmp_path)
    cs = load_centroids(tmp_path, "v1", encoder_name="enc", dim=3)
    (m,) = cs.classify(unit([0.5, 0, 0.8])[None, :])
    assert m.task == "b" and m.threshold == 0.9
    assert not m.confident  # 0.85 < 0.9


def test_margin_floor_makes_close_calls_unconfident() -> None:
    groups = {"a": unit([1, 0])[None, :], "b": unit([0, 1])[None, :]}
    cs = CentroidSet(groups, {"a": 0.0, "b": 0.0}, min_margin=0.2)
    close, clear = cs.classify(np.stack([unit([1, 0.9]), unit([1, 0.1])]))
    assert not close.confident and clear.confident


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"encoder_name": "other", "dim": 3}, "encoder"), ({"encoder_name": "enc", "dim": 4}, "dim")],
)
def test_load_rejects_another_encoder(tmp_path: Path, kwargs: dict, message: str) -> None:
    _write(tmp_path)
    with pytest.raises(ArtifactError, match=message):
        load_centroids(tmp_path, "v1", **kwargs)


def test_load_rejects_tampered_centroids(tmp_path: Path) -> None:
    _write(tmp_path)
    npy = tmp_path / "v1" / "centroids.npy"
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0xFF
    npy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        load_centroids(tmp_path, "v1", encoder_name="enc", dim=3)


def test_load_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="CURRENT"):
        load_centroids(tmp_path, encoder_name="enc", dim=3)
    with pytest.raises(ArtifactError, match="missing artifact file"):
        load_centroids(tmp_path, "nope", encoder_name="enc", dim=3)
    _write(tmp_path)
    (tmp_path / "v1" / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="invalid manifest"):
        load_centroids(tmp_path, "v1", encoder_name="enc", dim=3)


def test_versions_are_never_overwritten_and_names_are_checked(tmp_path: Path) -> None:
    _write(tmp_path)
    with pytest.raises(ArtifactError, match="already exists"):
        _write(tmp_path)
    with pytest.raises(ArtifactError, match="invalid version"):
        _write(tmp_path, version="../escape")
    with pytest.raises(ArtifactError, match="does not exist"):
        set_current(tmp_path, "v9")


def test_shipped_centroids_verify_against_the_bundled_encoder_name() -> None:
    root = Path(__file__).resolve().parents[3] / "centroids"
    manifest = json.loads((root / current_version(root) / "manifest.json").read_text())
    assert manifest["encoder"] == {
        "name": "all-MiniLM-L6-v2",
        "dim": 384,
        "max_seq_tokens": 256,
        "truncation": "head_tail",
    }
    assert manifest["training"]["counts"]["chat"] > 0


def test_batch_classification_matches_single(centroids: CentroidSet) -> None:
    enc = HashingEncoder()
    texts = ["write a python function", "a haiku poem about rain", "hi how are you"]
    batch = centroids.classify(enc.encode(texts))
    single = [centroids.classify(enc.encode([t]))[0] for t in texts]
    assert [m.task for m in batch] == [m.task for m in single] == ["code", "creative", "chat"]
