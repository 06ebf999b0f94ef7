"""Generated verifier pairs: each category changes what it says it changes, the split keeps a
source prompt's pairs together, and the tier rule search respects every set's budget."""

from __future__ import annotations

import random

import numpy as np

from training.cache_pairs import (
    add_scope,
    contrasts,
    generate,
    negate,
    paraphrase,
    side,
    source_prompts,
    swap_direction,
    swap_number,
)
from training.cross_calibrate import choose_rules
from training.fit_cross_verifier import training_pairs

PROMPTS = [
    "What is the capital of France?",
    "Convert 5 km to miles",
    "How do I sort a list in Python ascending?",
    "Write a poem about the sea in 12 lines",
    "Is it safe to eat raw cookie dough?",
    "convert markdown to html with pandoc",
]


def test_mutations_change_one_detail() -> None:
    rng = random.Random(0)
    assert swap_number("Convert 5 km to miles", rng) not in (None, "Convert 5 km to miles")
    assert swap_number("no digits here", rng) is None
    negated = negate("Is it safe to eat raw cookie dough?", rng) or ""
    assert " not " in negated or "without" in negated
    assert swap_direction("convert markdown to html with pandoc", rng) == (
        "convert html to markdown with pandoc"
    )
    assert swap_direction("go to the shop", rng) is None  # "to the": not two ends of a change
    scoped = [add_scope("What is the capital of France?", random.Random(s)) for s in range(8)]
    assert any(s and s.startswith("What is the capital of France ") for s in scoped)
    assert paraphrase("How do I sort a list?", rng) != "How do I sort a list?"


def test_generate_is_deterministic_and_labelled() -> None:
    rows = list(generate(PROMPTS, seed=3))
    assert rows == list(generate(PROMPTS, seed=3))
    assert {r["duplicate"] for r in rows} == {True, False}
    for r in rows:
        assert r["a"] in PROMPTS and r["a"] != r["b"]
        assert r["duplicate"] == (r["category"] in ("near_repeat", "paraphrase", "synonym"))


def test_source_prompts_are_short_single_lines() -> None:
    prompts = source_prompts()
    assert len(set(prompts)) > 1000
    assert all("\n" not in p and len(p) <= 200 for p in prompts)
    assert any("Bibliothek" in p for p in prompts)  # the multilingual seeds are in


def test_split_is_by_source_prompt() -> None:
    assert {side(p, 0.2) for p in PROMPTS} <= {"fit", "validation"}
    assert side("x", 0.0) == "fit" and side("x", 1.0) == "validation"
    fams = {"generated": {"fit": [("a", "b", True), ("c", "d", False)], "validation": []}}
    pairs = training_pairs(fams, seed=0)
    assert sorted(y for *_, y in pairs) == [0.0, 1.0]
    assert {frozenset((q, c)) for q, c, _ in pairs} == {frozenset("ab"), frozenset("cd")}


def test_a_written_familys_duplicates_go_both_ways_and_repeat_as_asked() -> None:
    fams = {"written": {"fit": [("a", "b", True), ("c", "d", False)], "validation": []}}
    once = training_pairs(fams, seed=0, repeat={})
    assert sorted((q, c, y) for q, c, y in once if y == 1.0) == [("a", "b", 1.0), ("b", "a", 1.0)]
    assert len([p for p in once if p[2] == 0.0]) == 1  # a near miss: one way, either prompt first
    thrice = training_pairs(fams, seed=0, repeat={"written": 3})
    assert len(thrice) == 3 * len(once)


def test_each_duplicate_gets_a_contrast_and_near_misses_none() -> None:
    rows = [
        ("Can I eat before surgery?", "Is eating allowed before my operation?", True),
        ("How do I boil 2 eggs?", "What's the way to boil two eggs", False),
    ]
    (made,) = contrasts(rows, seed=0)
    assert made[0] == rows[0][0] and made[2] is False
    assert made[1] != rows[0][1]


def test_choose_rules_keeps_every_set_within_budget() -> None:
    rng = np.random.default_rng(0)
    sets = []
    for shift in (0.0, 0.1):
        dup = rng.random(400) < 0.5
        sims = np.clip(rng.normal(0.8 + 0.1 * dup, 0.05), 0, 1)
        probs = np.clip(rng.normal(0.3 + 0.5 * dup + shift, 0.15), 0, 1)
        sets.append((sims, probs, np.ones(400, dtype=bool), dup))
    strict = choose_rules(sets, 0.0)
    loose = choose_rules(sets, 0.05)
    assert loose[2] >= strict[2] > 0
    for retrieve, decide, _ in (strict, loose):
        for s, p, g, y in sets:
            served = (s >= retrieve) & (p >= decide) & g
            assert (served & ~y).sum() / (~y).sum() <= 0.05
