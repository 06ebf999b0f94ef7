"""Calibrating the cache cross-encoder: the logit/cosine combination, the guard choice and the
per-tier rules on synthetic validation sides; training + int8 export end to end on a few pairs
(the exported file must load and score)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from router.cache import (
    BUNDLED_CROSS,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    CrossScorer,
    combine,
)
from training.cross_calibrate import Scored, calibrate, fit_combination
from training.cross_train import TrainSettings, train

BUDGETS = {"quality": 0.01, "economy": 0.05}


def _side(name: str, seed: int) -> Scored:
    rng = np.random.default_rng(seed)
    dup = rng.random(600) < 0.5
    sims = np.clip(rng.normal(0.78 + 0.1 * dup, 0.06), 0, 1)
    logits = rng.normal(-2 + 4 * dup, 1.5)
    lexical = rng.random(600) > 0.3 * ~dup  # refuses some non-duplicates, no duplicate
    guards = {"exact": np.ones(600, dtype=bool), "lexical": lexical}
    overlap = np.clip(rng.normal(0.6 + 0.1 * dup, 0.2), 0, 1)
    return Scored(name, sims, logits, guards, dup, overlap)


def test_combination_weighs_both_signals() -> None:
    coef = fit_combination([_side("a", 0), _side("b", 1)])
    assert coef["logit"] > 0 and coef["cosine"] > 0
    assert set(coef) == {"logit", "cosine", "jaccard", "logit_jaccard", "bias"}
    assert combine(coef, 3.0, 0.9, 0.5) > combine(coef, 3.0, 0.6, 0.5) > combine(coef, -3, 0.6, 0.5)


def test_calibrate_picks_the_better_guards_and_looser_economy() -> None:
    sides = [_side("a", 2), _side("b", 3)]
    out = calibrate(sides, BUDGETS, log=lambda _: None)
    assert out["guards"] == "lexical"  # it only removes false hits here
    assert set(out["tiers"]) == set(BUDGETS)
    for tier, budget in BUDGETS.items():
        for rates in out["validation"][tier].values():
            assert rates["false_hit_rate"] <= budget
    quality, economy = out["validation"]["quality"], out["validation"]["economy"]
    assert all(economy[n]["hit_rate"] >= quality[n]["hit_rate"] for n in quality)


@pytest.mark.slow
def test_train_and_export_give_a_loadable_model(tmp_path: Path) -> None:
    pairs = [("how do I boil an egg", "how to boil an egg", 1.0)] * 4
    pairs += [("is the shop open on sunday", "is the shop closed on sunday", 0.0)] * 4
    folder = tmp_path / "cross"
    folder.mkdir()
    settings = TrainSettings(budget_s=5.0, epochs=1, batch_size=4, layers=1)
    done = train(pairs, folder / MODEL_FILE, settings)
    assert done["steps"] >= 1 and (folder / TOKENIZER_FILE).is_file()
    manifest = json.loads((BUNDLED_CROSS / MANIFEST_FILE).read_text())
    manifest["sha256"] = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    scorer = CrossScorer(folder)
    assert np.isfinite(scorer.logit("how do I boil an egg", "how to boil an egg"))
    shutil.rmtree(folder)


def test_a_report_only_family_is_measured_but_does_not_bound_the_tiers() -> None:
    hard = _side("hard", 4)
    hard = Scored("hard", hard.sims, -hard.logits, hard.guards, hard.duplicate, hard.overlap)
    sides = [_side("a", 2), _side("b", 3), hard]  # "hard": the model has it backwards
    bound = calibrate(sides, BUDGETS, log=lambda _: None)
    free = calibrate(sides, BUDGETS, log=lambda _: None, report_only=["hard"])
    assert "hard" in free["validation"]["quality"]
    for tier, budget in BUDGETS.items():
        assert bound["validation"][tier]["hard"]["false_hit_rate"] <= budget
        assert free["validation"][tier]["a"]["false_hit_rate"] <= budget
    economy = free["validation"]["economy"]["a"], bound["validation"]["economy"]["a"]
    assert economy[0]["hit_rate"] > economy[1]["hit_rate"]
