"""evaluate_cache on a small written pairs file with the hashing encoder; the verifier fit
pipeline end to end on tiny files (its artifact must load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cache.verify.verifier import load_verifier
from router.errors import InvalidRequest
from tests.fakes import HashingEncoder
from training.evaluate_cache import evaluate_cache, read_pairs
from training.fit_verifier import FIT_FILES, fit_verifier

THRESHOLDS = {"quality": 0.99, "economy": 0.7}
ROWS = [
    # Duplicates: the same bag of words, so the hashing encoder gives cosine 1.
    {
        "a": "how do I sort a list in python",
        "b": "how do I sort a list in python",
        "duplicate": True,
    },
    {"a": "sort a list in python", "b": "in python sort a list", "duplicate": True},
    # One-detail near-misses: high cosine, refused by verification.
    {
        "a": "download tensorflow 2.12 wheels",
        "b": "download tensorflow 2.13 wheels",
        "duplicate": False,
    },
    {
        "a": "sort a list ascending in python",
        "b": "sort a list descending in python",
        "duplicate": False,
    },
    # Unrelated: never a hit.
    {"a": "weather in paris", "b": "capital of peru", "duplicate": False},
]
BAD_LINES = [
    "{not json",
    json.dumps({"a": "x", "duplicate": True}),
    json.dumps({"a": "x", "b": "y", "duplicate": "yes"}),
    json.dumps({"a": " ", "b": "y", "duplicate": False}),
    json.dumps(["a", "b", True]),
]


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    lines = [json.dumps(r) for r in ROWS[:2]] + BAD_LINES + [json.dumps(r) for r in ROWS[2:]]
    path.write_text("\n".join(lines) + "\n\n")
    return path


def test_output_shape_and_rates(pairs_file: Path) -> None:
    report = evaluate_cache(
        pairs_file, HashingEncoder(), load_verifier(), THRESHOLDS, progress=False
    )
    verifier = load_verifier()
    assert set(report) == {"n", "invalid_rows", "tiers", "cosine_only"}
    assert (report["n"], report["invalid_rows"]) == (5, len(BAD_LINES))
    assert set(report["cosine_only"]) == {"tiers"}
    for table, extra in ((report["tiers"], {"decide"}), (report["cosine_only"]["tiers"], set())):
        assert set(table) == set(THRESHOLDS)
        for tier, row in table.items():
            assert set(row) == {"threshold", "hit_rate", "false_hit_rate"} | extra
            assert row["threshold"] == THRESHOLDS[tier]
    assert report["tiers"]["economy"] == {
        "threshold": 0.7,
        "hit_rate": 1.0,
        "false_hit_rate": 0.0,
        "decide": verifier.threshold,
    }
    cosine = report["cosine_only"]["tiers"]["economy"]
    assert cosine["hit_rate"] == 1.0
    assert cosine["false_hit_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["tiers"]["quality"]["false_hit_rate"] == 0.0


def test_without_a_verifier_both_tables_agree(pairs_file: Path) -> None:
    report = evaluate_cache(pairs_file, HashingEncoder(), None, THRESHOLDS, progress=False)
    assert report["tiers"] == report["cosine_only"]["tiers"]


def test_empty_file_gives_zero_rates(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    report = evaluate_cache(path, HashingEncoder(), load_verifier(), THRESHOLDS, progress=False)
    assert report["n"] == 0
    row = report["tiers"]["quality"]
    assert (row["threshold"], row["hit_rate"], row["false_hit_rate"]) == (0.99, 0.0, 0.0)


class TierVerifier:
    """Scores every pair 0.6; serves at 0.5 in economy, 0.9 in quality."""

    def score(self, query: str, cached: str, similarity: float) -> float:
        return 0.6

    def threshold_for(self, tier: str | None) -> float:
        return 0.5 if tier == "economy" else 0.9


def test_categories_and_tier_decision_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "cats.jsonl"
    rows = [
        {
            "a": "sort a list in python",
            "b": "in python sort a list",
            "duplicate": True,
            "category": "paraphrase",
        },
        {
            "a": "weather in paris",
            "b": "weather in paris",
            "duplicate": True,
            "category": "near_repeat",
        },
        {"a": "is it open", "b": "is it open", "duplicate": False, "category": "negation"},
        {"a": "no category here", "b": "no category here", "duplicate": True},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    thresholds = {"quality": 0.9, "economy": 0.9}
    report = evaluate_cache(path, HashingEncoder(), TierVerifier(), thresholds, progress=False)
    assert set(report["categories"]) == {"paraphrase", "near_repeat", "negation"}
    negation = report["categories"]["negation"]
    assert (negation["n"], negation["duplicates"]) == (1, 0)
    assert negation["tiers"]["quality"]["false_hit_rate"] == 0.0
    assert negation["tiers"]["economy"]["false_hit_rate"] == 1.0
    assert report["categories"]["paraphrase"]["tiers"]["economy"]["hit_rate"] == 1.0
    assert report["tiers"]["quality"]["hit_rate"] == 0.0
    assert report["tiers"]["economy"]["decide"] == 0.5


def test_missing_file_is_invalid_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest):
        read_pairs(tmp_path / "absent.jsonl")


def _tiny_fit_file(path: Path, topics: list[str]) -> None:
    rows = []
    for i, topic in enumerate(topics):
        rows.append(
            {"a": f"how to {topic} fast", "b": f"how to {topic} quickly", "duplicate": True}
        )
        rows.append(
            {"a": f"how to {topic} fast", "b": f"how to {topic} fast {i}", "duplicate": False}
        )
        rows.append(
            {"a": f"how to {topic} fast", "b": f"how to {topic} fast at home", "duplicate": False}
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_fit_verifier_writes_a_loadable_artifact(tmp_path: Path) -> None:
    topics = ["cook rice", "learn go", "fix a bike", "paint a wall", "write a poem", "tie a knot"]
    for name in FIT_FILES:
        _tiny_fit_file(tmp_path / name, topics)
    artifact = fit_verifier(tmp_path, HashingEncoder(), seed=0, progress=False)
    path = tmp_path / "verifier.json"
    path.write_text(json.dumps(artifact))
    verifier = load_verifier(path)
    assert set(artifact["recommended_thresholds"]) == {
        "quality",
        "balanced",
        "economy",
        "exhausted",
    }
    assert artifact["provenance"]["seed"] == 0
    assert verifier.threshold == artifact["threshold"]
    assert artifact == fit_verifier(tmp_path, HashingEncoder(), seed=0, progress=False)
