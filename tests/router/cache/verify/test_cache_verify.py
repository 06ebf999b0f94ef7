"""The cache verifier: each hard guard on one-detail near-misses, paraphrases that must pass,
and the bundled artifact (loads; a missing or corrupt one is an ArtifactError)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cache.verify.verifier import (
    FEATURES,
    CacheVerifier,
    Verdict,
    hard_guards,
    load_verifier,
    profile,
)
from router.errors import ArtifactError

# (new prompt, cached prompt, what the refusal must say): exactly one detail differs.
NEAR_MISSES = [
    ("download TensorFlow 2.13 wheels", "download TensorFlow 2.12 wheels", "numbers differ: 2.13"),
    ("install python 3.12 on ubuntu", "install python 3.11 on ubuntu", "numbers differ: 3.12"),
    ("top ten coffee shops in Seattle", "top 5 coffee shops in Seattle", "numbers differ: 10 vs 5"),
    ("how many calories in two eggs", "how many calories in three eggs", "numbers differ: 2 vs 3"),
    ("Japan GDP latest", "GDP of Japan in 2020", "numbers differ: none vs 2020"),
    ("how to not use recursion in haskell", "how to use recursion in haskell", "negation"),
    ("sort a python list without lambda", "sort a python list with lambda", "negation"),
    ("is coffee not bad for you", "is coffee bad for you", "negation"),
    ("weather in Munich today", "weather in Berlin today", "entity differs: munich vs berlin"),
    ("current time in Los Angeles", "current time in New York", "entity differs"),
    ("movie times for 'Barbie' in Boston", "movie times for 'Oppenheimer' in Boston", "quoted"),
    ("pandas df.join example", "pandas df.merge example", "identifier differs: df.join"),
    ("sort:top tag:kubernetes ingress", "sort:recent tag:kubernetes ingress", "identifier"),
    ("sort an array in java", "sort an array in python", "code differs: java vs python"),
    ("return YAML with title and author", "return JSON with title and author", "code differs"),
    ("translate 'good morning' to French", "translate 'good morning' to Spanish", "language"),
    ("convert 5 km to feet", "convert 5 km to miles", "unit differs: foot vs mile"),
    ("cookie recipe in grams", "cookie recipe in cups", "unit differs"),
    ("convert 10 EUR to USD", "convert 10 USD to EUR", "currency direction differs"),
    ("convert html to markdown", "convert markdown to html", "direction differs"),
    ("sort list descending in python", "sort list ascending in python", "opposite differs"),
    ("Explain Docker for an expert", "Explain Docker for a beginner", "opposite differs"),
    ("weather in Sydney tomorrow", "weather in Sydney today", "time differs: tomorrow vs now"),
]

# (new prompt, cached prompt): same request, other words. Guards and verifier must pass.
PARAPHRASES = [
    ("how to sort a list in python ascending", "python sort list ascending"),
    ("iphone 16 cost in the United States", "price of iphone 16 in the US"),
    ("best five coffee shops in Seattle", "top 5 coffee shops in Seattle"),
    ("What is the capital city of Canada?", "Capital of Canada"),
    ("JS: sort an array ascending", "Sort array ascending in JavaScript"),
    ("New York City subway map", "NYC subway map"),
    ("10 dollars in euros", "convert 10 USD to EUR"),
    ("Name the French president", "Who is the president of France?"),
    ("today's weather in Berlin", "weather in Berlin today"),
    ("closest petrol station", "nearest gas station"),
    ("How do I reset my password?", "How can I reset my password?"),
    ("Ubuntu 22.04 ISO download", "download Ubuntu 22.04 ISO"),
    ("Why can't I sleep at night?", "Why am I unable to sleep at night?"),
    ("Boston showtimes for Oppenheimer", "movie times for 'Oppenheimer' in Boston"),
]


@pytest.fixture(scope="module")
def verifier() -> CacheVerifier:
    return load_verifier()


@pytest.mark.parametrize(("query", "cached", "reason"), NEAR_MISSES)
def test_one_detail_near_misses_are_refused(
    verifier: CacheVerifier, query: str, cached: str, reason: str
) -> None:
    verdict = verifier.check(query, cached, similarity=0.97)
    assert not verdict.ok
    assert verdict.reason.startswith(reason), verdict.reason


@pytest.mark.parametrize(("query", "cached"), PARAPHRASES)
def test_paraphrases_pass(verifier: CacheVerifier, query: str, cached: str) -> None:
    assert hard_guards(profile(query), profile(cached)) is None
    verdict = verifier.check(query, cached, similarity=0.97)
    assert verdict == Verdict(True, verdict.score, "ok")
    assert verifier.threshold <= verdict.score <= 1.0


def test_guards_are_symmetric() -> None:
    for query, cached, _ in NEAR_MISSES:
        assert hard_guards(profile(cached), profile(query)) is not None


def test_identical_prompt_passes(verifier: CacheVerifier) -> None:
    assert verifier.check("how do I sort a list", "how do I sort a list", 1.0).ok


def test_verifier_refuses_a_low_score(verifier: CacheVerifier) -> None:
    verdict = verifier.check("budget microphones for podcasting", "microphones", 0.5)
    assert not verdict.ok
    assert verdict.reason.startswith("verifier score")
    assert verdict.score < verifier.threshold


def test_lone_one_is_not_a_number() -> None:
    assert hard_guards(profile("which one is faster"), profile("which is faster")) is None


def test_long_prompts_may_drop_an_incidental_number() -> None:
    long_a = (
        "I am 39 and weigh about 193 pounds; my doctor says I should lose weight, is that right?"
    )
    long_b = "My doctor says I should lose weight; is that right for someone of my size and age?"
    assert hard_guards(profile(long_a), profile(long_b)) is None


def test_bundled_artifact_loads() -> None:
    raw = json.loads(
        (Path(__file__).parents[4] / "router/cache/verify/data/cache_verifier.json").read_text()
    )
    assert raw["features"] == list(FEATURES)
    assert set(raw["recommended_thresholds"]) == {"quality", "balanced", "economy", "exhausted"}
    assert 0.0 < load_verifier().threshold < 1.0


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "verifier.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return path


def _model() -> dict[str, object]:
    n = len(FEATURES)
    return {"coef": [0.0] * n, "mean": [0.0] * n, "scale": [1.0] * n, "intercept": 0.0}


def _valid() -> dict[str, object]:
    return {"features": list(FEATURES), "model": _model(), "threshold": 0.5}


def test_minimal_artifact_loads(tmp_path: Path) -> None:
    assert load_verifier(_write(tmp_path, _valid())).threshold == 0.5


@pytest.mark.parametrize(
    "corrupt",
    [
        "{not json",
        "[]",
        {**_valid(), "features": ["cosine"]},
        {**_valid(), "threshold": "high"},
        {k: v for k, v in _valid().items() if k != "model"},
        {**_valid(), "model": {"coef": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0}},
        {**_valid(), "model": {**_model(), "scale": [0.0] * len(FEATURES)}},
    ],
)
def test_corrupt_artifact_is_an_artifact_error(tmp_path: Path, corrupt: object) -> None:
    with pytest.raises(ArtifactError, match="corrupt cache verifier"):
        load_verifier(_write(tmp_path, corrupt))


def test_missing_artifact_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        load_verifier(tmp_path / "absent.json")


def test_long_prompts_must_match_between_head_and_tail(verifier: CacheVerifier) -> None:
    head = "Summarise the following report in three bullet points.\n"
    body = "The quarterly revenue grew in every region we operate in. " * 80
    same = head + body + "Thanks!"
    assert verifier.check(same, same, similarity=1.0).ok
    changed = head + body[:3000] + " The Lisbon office closed. " + body[3000:] + "Thanks!"
    verdict = verifier.check(changed, same, similarity=0.99)
    assert (verdict.ok, verdict.reason) == (False, "long prompts differ outside the guarded window")
