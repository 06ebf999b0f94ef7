"""What the cross-encoder trains on besides the pair files: STS-B scores as soft labels, hard
negatives mined among near prompts, both orientations of the real pairs, and a fixed
retrieval cosine when the tier rules are chosen."""

from __future__ import annotations

import numpy as np

from training.cross_calibrate import choose_rules
from training.cross_pairs import mined_negatives, stsb_label
from training.fit_cross_verifier import training_pairs


def test_stsb_scores_become_soft_labels() -> None:
    assert stsb_label(5.0) == stsb_label(4.5) == 1.0
    assert stsb_label(2.5) == stsb_label(0.0) == 0.0
    assert stsb_label(4.0) == 0.75 and 0.0 < stsb_label(3.0) < stsb_label(3.5) < 0.75


def _unit(rows: list[list[float]]) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_mined_negatives_are_near_but_not_the_same_prompt() -> None:
    prompts = ["sort a list ascending", "sort a list descending", "Sort a list ascending?", "pie"]
    vectors = _unit([[1.0, 0.5, 0.0], [1.0, 0.0, 0.0], [1.0, 0.5, 0.01], [0.0, 0.0, 1.0]])
    pairs = {frozenset((a, b)) for a, b, _ in mined_negatives(prompts, vectors)}
    # the near neighbours (cosine ~0.89) are mined once each way round; the same text in other
    # casing (cosine ~1) and the far prompt are not
    assert pairs == {
        frozenset(("sort a list ascending", "sort a list descending")),
        frozenset(("Sort a list ascending?", "sort a list descending")),
    }
    assert all(0.8 <= s < 0.97 for *_, s in mined_negatives(prompts, vectors))


def test_real_pairs_train_both_ways_and_stsb_labels_are_soft() -> None:
    fams = {
        "langcache": {"fit": [("a", "b", True)], "validation": []},
        "stsb": {"fit": [("c", "d", True), ("e", "f", False)], "validation": []},
    }
    pairs = training_pairs(fams, 0, {("c", "d"): 4.0, ("e", "f"): 3.0}, [("g", "h")])
    got = sorted(pairs)
    assert ("a", "b", 1.0) in got and ("b", "a", 1.0) in got  # langcache: both ways, repeated
    assert ("c", "d", 0.75) in got and ("d", "c", 0.75) in got
    assert [p for p in got if set(p[:2]) == {"e", "f"}] in ([("e", "f", 0.25)], [("f", "e", 0.25)])
    assert ("g", "h", 0.0) in got and ("h", "g", 0.0) in got


def test_a_fixed_retrieval_cosine_is_kept() -> None:
    rng = np.random.default_rng(1)
    dup = rng.random(400) < 0.5
    sims = np.clip(rng.normal(0.8 + 0.1 * dup, 0.05), 0, 1)
    probs = np.clip(rng.normal(0.3 + 0.5 * dup, 0.15), 0, 1)
    sets = [(sims, probs, np.ones(400, dtype=bool), dup)]
    retrieve, decide, hit = choose_rules(sets, 0.01, retrieve=0.85)
    assert retrieve == 0.85 and hit > 0
    served = (sims >= 0.85) & (probs >= decide)
    assert (served & ~dup).sum() / (~dup).sum() <= 0.01
