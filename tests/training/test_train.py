"""The training pipeline end to end on small synthetic data with the hashing encoder."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from router.classify.centroids import current_version, load_centroids
from router.config.settings import EncoderConfig
from router.errors import InvalidRequest
from tests.conftest import TASK_WORDS
from tests.fakes import HashingEncoder
from training.dataset import fold_of, read_jsonl, read_many, read_with, split, weighted_file
from training.evaluate import evaluate_file
from training.fit import calibrate_thresholds, kmeans_centroids
from training.train import TrainOptions, TrainResult, train


def synthetic_rows(n_per_task: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    filler = [
        "the",
        "a",
        "of",
        "to",
        "and",
        "in",
        "it",
        "is",
        "for",
        "on",
        "with",
        "as",
        "this",
        "my",
    ]
    rows = []
    for task, words in TASK_WORDS.items():
        vocab = words.split()
        for i in range(n_per_task):
            text = " ".join(rng.sample(vocab, 3) + rng.sample(filler, 4))
            rows.append({"text": text, "task": task, "id": f"{task}-{i}"})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, str]], extra_lines: tuple[str, ...] = ()) -> Path:
    with path.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "train.jsonl",
        synthetic_rows(30, seed=1),
        extra_lines=(
            '{"text": "a banana", "task": "fruit"}',
            "not json",
            '{"text": "", "task": "code"}',
        ),
    )


def test_train_writes_a_verified_version_and_promotes_the_first(tmp_path: Path, data: Path) -> None:
    enc = HashingEncoder()
    out = tmp_path / "centroids"
    result = train(read_many([data]), out, enc, EncoderConfig(), TrainOptions(progress=False))
    assert result.promoted and current_version(out) == "v1"
    manifest = json.loads((out / "v1" / "manifest.json").read_text())
    training = manifest["training"]
    assert training["counts"] == dict.fromkeys(sorted(TASK_WORDS), 30)
    assert training["outside_taxonomy"] == {"fruit": 1} and training["invalid_rows"] == 2
    assert training["files"][0]["sha256"] and set(training["k_per_task"]) == set(TASK_WORDS)
    assert manifest["metrics"]["validation"]["macro_f1"] > 0.8
    cs = load_centroids(out, encoder_name=enc.name, dim=enc.dim)
    assert all(-1 <= t <= 1 for t in cs.thresholds.values())
    # A second run writes v2 but leaves CURRENT alone unless asked.
    second = train(read_many([data]), out, enc, EncoderConfig(), TrainOptions(progress=False))
    assert second.manifest.version == "v2" and not second.promoted
    assert current_version(out) == "v1"
    train(read_many([data]), out, enc, EncoderConfig(), TrainOptions(progress=False, promote=True))
    assert current_version(out) == "v3"


def test_training_is_deterministic_for_a_seed(tmp_path: Path, data: Path) -> None:
    enc = HashingEncoder()
    a = train(read_many([data]), tmp_path / "a", enc, EncoderConfig(), TrainOptions(progress=False))
    b = train(read_many([data]), tmp_path / "b", enc, EncoderConfig(), TrainOptions(progress=False))
    assert a.manifest.sha256 == b.manifest.sha256
    assert a.manifest.tasks == b.manifest.tasks


def test_fixed_k(tmp_path: Path, data: Path) -> None:
    enc = HashingEncoder()
    r = train(
        read_many([data]), tmp_path / "c", enc, EncoderConfig(), TrainOptions(k=3, progress=False)
    )
    assert {t.centroids for t in r.manifest.tasks} == {3}


def test_an_ensemble_pools_one_fit_per_seed(tmp_path: Path, data: Path) -> None:
    """Each task's centroids are the union of the members' fits (seeds 0, 1, 2): the first
    member's are one plain fit's, and the version records the pooling."""
    enc = HashingEncoder()
    rows = read_many([data])
    one = train(rows, tmp_path / "one", enc, EncoderConfig(), TrainOptions(k=2, progress=False))
    options = TrainOptions(k=2, progress=False, ensemble=3)
    pooled = train(rows, tmp_path / "pooled", enc, EncoderConfig(), options)
    assert {t.centroids for t in pooled.manifest.tasks} == {6}
    assert pooled.manifest.training["ensemble"] == 3
    single = load_centroids(
        tmp_path / "one", one.manifest.version, encoder_name=enc.name, dim=enc.dim
    )
    union = load_centroids(
        tmp_path / "pooled", pooled.manifest.version, encoder_name=enc.name, dim=enc.dim
    )
    for task in single.tasks:
        np.testing.assert_allclose(union.groups[task][:2], single.groups[task], atol=1e-6)


def test_evaluate_file_counts_labels_outside_the_taxonomy(tmp_path: Path, data: Path) -> None:
    enc = HashingEncoder()
    out = tmp_path / "centroids"
    train(read_many([data]), out, enc, EncoderConfig(), TrainOptions(progress=False))
    test = write_jsonl(
        tmp_path / "test.jsonl",
        synthetic_rows(10, seed=2),
        extra_lines=('{"text": "x", "task": "poetry"}', '{"text": "y", "task": "poetry"}'),
    )
    cs = load_centroids(out, encoder_name=enc.name, dim=enc.dim)
    report = evaluate_file(test, enc, cs, progress=False)
    assert report["n"] == 80 and report["macro_f1"] > 0.8
    assert report["outside_taxonomy"] == {"n": 2, "labels": {"poetry": 2}}
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 80
    assert set(report) >= {"n", "accuracy", "macro_f1", "unknown_rate", "per_task", "confusion"}


def test_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="not found"):
        read_jsonl(tmp_path / "absent.jsonl")


def test_split_keeps_groups_together_and_stratifies(tmp_path: Path) -> None:
    rows = [
        {"text": f"t{i}", "task": "code" if i % 2 else "math", "topic": f"g{i // 4}"}
        for i in range(80)
    ]
    ds = read_jsonl(write_jsonl(tmp_path / "g.jsonl", rows))  # type: ignore[arg-type]
    train_rows, test_rows = split(ds.examples, 0.25, seed=0)
    assert {e.group for e in train_rows}.isdisjoint({e.group for e in test_rows})
    assert {e.task for e in test_rows} == {"code", "math"}


def test_folds_keep_groups_together_and_balance_each_task(tmp_path: Path) -> None:
    rows = [
        {"text": f"t{i}", "task": "code" if i % 3 else "math", "topic": f"g{i // 3}"}
        for i in range(150)
    ]
    ds = read_jsonl(write_jsonl(tmp_path / "g.jsonl", rows))  # type: ignore[arg-type]
    folds = fold_of(ds.examples, 5, seed=0)
    by_group: dict[str, set[int]] = {}
    for e, f in zip(ds.examples, folds, strict=True):
        by_group.setdefault(e.group, set()).add(f)
    assert all(len(f) == 1 for f in by_group.values())
    for task in ("code", "math"):
        sizes = [
            sum(1 for e, g in zip(ds.examples, folds, strict=True) if e.task == task and g == f)
            for f in range(5)
        ]
        assert max(sizes) - min(sizes) <= 3, sizes  # one group of three rows at most apart
    assert folds == fold_of(ds.examples, 5, seed=0) != fold_of(ds.examples, 5, seed=1)


def test_cross_validation_is_reported_on_every_row(tmp_path: Path, data: Path) -> None:
    result = train(
        read_many([data]),
        tmp_path / "c",
        HashingEncoder(),
        EncoderConfig(),
        TrainOptions(progress=False),
    )
    assert result.metrics["cross_validation"]["n"] == 8 * 30
    assert result.metrics["cross_validation"]["macro_f1"] > 0.8
    assert result.manifest.training["calibration_folds"] == 5


def test_calibration_reaches_target_precision() -> None:
    # Task 0 predictions: high scores are right, low ones wrong.
    scores = np.array([[0.9, 0.1], [0.8, 0.1], [0.7, 0.1], [0.3, 0.1], [0.2, 0.1]], np.float32)
    truth = ["a", "a", "a", "b", "b"]
    th = calibrate_thresholds(scores, truth, ["a", "b"], target_precision=0.9)
    assert th["a"] == pytest.approx(0.7)


def test_kmeans_centroids_are_unit_and_capped() -> None:
    x = HashingEncoder().encode([f"word{i} other{i % 3}" for i in range(12)])
    c = kmeans_centroids(x, k=16, seed=0)
    assert len(c) == 3  # 12 rows / 4 rows per centroid
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-5)


def test_an_added_file_keeps_its_rows_weights_times_its_own(tmp_path: Path) -> None:
    base, extra = tmp_path / "base.jsonl", tmp_path / "extra.jsonl"
    base.write_text(json.dumps({"text": "hi", "task": "chat"}) + "\n")
    rows = [{"text": "2+2?", "task": "math"}, {"text": "7*6?", "task": "math", "weight": 0.5}]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert weighted_file(f"{extra}:0.5") == (extra, 0.5)
    assert weighted_file(str(extra)) == (extra, 1.0)
    with pytest.raises(InvalidRequest):
        weighted_file(f"{extra}:0")
    data = read_with([base], [(extra, 0.5)])
    assert [e.weight for e in data.examples] == [1.0, 0.5, 0.25]
    assert [f["path"] for f in data.files] == ["base.jsonl", "extra.jsonl"]


def test_uncalibrated_rows_are_fitted_on_but_leave_the_thresholds_alone(
    tmp_path: Path, data: Path
) -> None:
    """Noisy rows (every label shuffled) from another source would raise the thresholds they
    calibrate; marked uncalibrated, the thresholds are those of the clean rows' held-out part."""
    rng = random.Random(3)
    noisy = synthetic_rows(30, seed=2)
    labels = [r["task"] for r in noisy]
    rng.shuffle(labels)
    noise = tmp_path / "noise.jsonl"
    rows = [
        r | {"task": t, "id": f"n{i}", "source": "noise"}
        for i, (r, t) in enumerate(zip(noisy, labels, strict=True))
    ]
    write_jsonl(noise, rows)
    enc = HashingEncoder()
    # On one held-out split (cross-fitted below): the noisy rows there raise the thresholds.
    options = TrainOptions(
        progress=False, uncalibrated_sources=frozenset({"noise"}), calibration_folds=1
    )
    marked = train(read_with([data], [(noise, 1.0)]), tmp_path / "a", enc, EncoderConfig(), options)
    plain = train(
        read_with([data], [(noise, 1.0)]),
        tmp_path / "b",
        enc,
        EncoderConfig(),
        TrainOptions(progress=False, calibration_folds=1),
    )
    crossed = [
        train(
            read_with([data], [(noise, 1.0)]),
            tmp_path / f"c{marks}",
            enc,
            EncoderConfig(),
            TrainOptions(progress=False, uncalibrated_sources=marks),
        ).manifest
        for marks in (frozenset({"noise"}), frozenset())
    ]
    assert [t.threshold for t in crossed[0].tasks] != [t.threshold for t in crossed[1].tasks]
    assert marked.manifest.training["uncalibrated_sources"] == ["noise"]
    assert "uncalibrated_sources" not in plain.manifest.training
    assert marked.manifest.training["counts"] == plain.manifest.training["counts"]

    def mean(result: TrainResult) -> float:
        return sum(t.threshold for t in result.manifest.tasks) / len(result.manifest.tasks)

    assert mean(marked) <= mean(plain)
