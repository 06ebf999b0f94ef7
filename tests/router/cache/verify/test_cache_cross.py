"""The cache's cross-encoder verifier: the shipped model loads and matches its digest (a changed
or missing file is an ArtifactError), exact guards refuse before the model runs, the budget tier
moves the decision threshold, and the model separates the written held-out pairs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from router.cache import (
    BUNDLED_CROSS,
    MANIFEST_FILE,
    MODEL_FILE,
    CacheVerifier,
    CrossScorer,
    CrossVerifier,
    build_verifier,
    load_cross_verifier,
    tier_rules,
    word_overlap,
)
from router.config import PROJECT_ROOT, CacheConfig
from router.errors import ArtifactError
from router.types import BudgetTier

TRAPS = PROJECT_ROOT / "training" / "data" / "cache_traps.jsonl"


LOGIT_ONLY = {"logit": 1.0, "cosine": 0.0, "jaccard": 0.0, "logit_jaccard": 0.0, "bias": 0.0}


class FixedScorer(CrossScorer):
    """A scorer whose model always says ``p`` (the seam: no ONNX session)."""

    def __init__(self, p: float) -> None:
        self.z = math.log(p / (1 - p))
        self.calls = 0

    def logit(self, query: str, cached: str) -> float:
        self.calls += 1
        return self.z


@pytest.fixture(scope="module")
def shipped() -> CrossVerifier:
    return load_cross_verifier()


def test_manifest_names_every_tier_with_looser_rules_below() -> None:
    rules = tier_rules(json.loads((BUNDLED_CROSS / MANIFEST_FILE).read_text()))
    assert set(rules) == {t.value for t in BudgetTier}
    quality, exhausted = rules["quality"], rules["exhausted"]
    assert exhausted.decide <= quality.decide or exhausted.retrieve <= quality.retrieve


def test_tier_moves_the_decision_threshold() -> None:
    scorer = FixedScorer(0.8)
    verifier = CrossVerifier(scorer, {"quality": 0.9, "economy": 0.7}, LOGIT_ONLY)
    assert not verifier.check("best pizza in town", "top pizza places in town", 0.9, "quality").ok
    assert verifier.check("best pizza in town", "top pizza places in town", 0.9, "economy").ok
    # a tier the verifier does not name, or none, gets the strictest threshold
    assert verifier.threshold_for("balanced") == verifier.threshold_for(None) == 0.9
    assert "cross-encoder 0.80 < 0.90" in verifier.check("a b", "c d", 0.9).reason


def test_exact_guards_refuse_before_the_model_and_same_text_skips_it() -> None:
    scorer = FixedScorer(0.99)
    verifier = CrossVerifier(scorer, {"quality": 0.5}, LOGIT_ONLY)
    refused = verifier.check("install python 3.12 on ubuntu", "install python 3.11 on ubuntu", 0.99)
    assert not refused.ok and refused.reason.startswith("numbers differ")
    ident = verifier.check("pandas df.join example", "pandas df.merge example", 0.97)
    assert not ident.ok and ident.reason.startswith("identifier differs")
    assert scorer.calls == 0
    same = verifier.check("What is the capital of Peru?", "what is the capital of peru", 0.99)
    assert same.ok and same.score == 1.0 and scorer.calls == 0


def test_the_cosine_moves_the_combined_probability() -> None:
    verifier = CrossVerifier(FixedScorer(0.5), {"quality": 0.6}, {**LOGIT_ONLY, "cosine": 2.0})
    assert not verifier.check("best pizza in town", "top pizza places", 0.1).ok
    assert verifier.check("best pizza in town", "top pizza places", 0.9).ok


def test_the_word_overlap_moves_the_combined_probability() -> None:
    coef = {**LOGIT_ONLY, "logit": 0.0, "jaccard": 4.0, "bias": -2.0}
    verifier = CrossVerifier(FixedScorer(0.5), {"quality": 0.6}, coef)
    assert verifier.check("best pizza in town", "best pizza in the town", 0.9).ok
    assert not verifier.check("best pizza in town", "where can I eat a good pie", 0.9).ok
    assert word_overlap("A b", "a B") == 1.0 and word_overlap("a", "b") == 0.0


def test_unknown_guards_or_missing_coefficients_are_refused() -> None:
    with pytest.raises(ArtifactError):
        CrossVerifier(FixedScorer(0.5), {"quality": 0.6}, LOGIT_ONLY, "fuzzy")
    with pytest.raises(ArtifactError):
        CrossVerifier(FixedScorer(0.5), {"quality": 0.6}, {"logit": 1.0})


def test_shipped_model_separates_held_out_duplicates_from_traps(shipped: CrossVerifier) -> None:
    rows = [json.loads(line) for line in TRAPS.read_text().splitlines()]
    probs = np.asarray([shipped.scorer.logit(r["b"], r["a"]) for r in rows])
    dup = np.asarray([r["duplicate"] for r in rows])
    # rank-based: a random scorer gives 0.5 (these pairs were never fitted on)
    wins = (probs[dup][:, None] > probs[~dup][None, :]).mean()
    assert wins > 0.75, wins


def test_a_score_does_not_depend_on_what_was_scored_before(shipped: CrossVerifier) -> None:
    pair = ("how do I change a flat tire", "steps to replace a flat tyre")
    first = shipped.scorer.logit(*pair)
    shipped.scorer.logit("a much longer unrelated prompt about tax law in Germany", "hi")
    assert shipped.scorer.logit(*pair) == first


def test_changed_or_missing_model_is_an_artifact_error(tmp_path: Path) -> None:
    folder = tmp_path / "cross"
    shutil.copytree(BUNDLED_CROSS, folder)
    with (folder / MODEL_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="digest"):
        CrossScorer(folder)
    (folder / MODEL_FILE).unlink()
    with pytest.raises(ArtifactError, match="incomplete"):
        CrossScorer(folder)
    (folder / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ArtifactError):
        CrossScorer(folder)


def test_config_picks_the_verifier_and_overrides_a_tier() -> None:
    assert isinstance(build_verifier(CacheConfig(verifier="lexical")), CacheVerifier)
    assert build_verifier(CacheConfig(verify=False)) is None
    cross = build_verifier(CacheConfig(decide={BudgetTier.ECONOMY: 0.42}))
    assert isinstance(cross, CrossVerifier)
    assert cross.threshold_for("economy") == 0.42
    assert cross.threshold_for("quality") == tier_rules(cross.scorer.manifest)["quality"].decide


def test_config_retrieval_cosines_are_the_ones_the_model_was_calibrated_with() -> None:
    rules = tier_rules(json.loads((BUNDLED_CROSS / MANIFEST_FILE).read_text()))
    config = CacheConfig()
    for tier in BudgetTier:
        assert config.threshold(tier, None) == rules[tier.value].retrieve


def test_the_pair_window_is_the_one_the_model_was_trained_with(tmp_path: Path) -> None:
    manifest = json.loads((BUNDLED_CROSS / MANIFEST_FILE).read_text())
    assert CrossScorer().max_tokens == manifest["training"]["max_tokens"]
    folder = tmp_path / "cross"
    shutil.copytree(BUNDLED_CROSS, folder)
    for bad in (0, "96", 100_000):
        (folder / MANIFEST_FILE).write_text(
            json.dumps({**manifest, "training": {"max_tokens": bad}})
        )
        with pytest.raises(ArtifactError, match="max_tokens"):
            CrossScorer(folder)
    (folder / MANIFEST_FILE).write_text(json.dumps({**manifest, "training": {"max_tokens": 32}}))
    short = CrossScorer(folder)
    long_pair = (" ".join(["word"] * 80), " ".join(["other"] * 80))
    assert short.logit(*long_pair) != CrossScorer().logit(*long_pair)  # 32 tokens read, not 64
