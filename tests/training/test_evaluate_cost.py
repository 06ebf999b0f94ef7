"""evaluate_cost on a small written fixture (exact numbers worked out by hand below), the
curve and APGR on synthetic rows, the prices file, and semroute's policy with the hashing
encoder. No real model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from router.classify.centroids import CentroidSet
from router.errors import ConfigError, InvalidRequest
from tests.fakes import HashingEncoder
from training.evaluate_cost import (
    Frame,
    Policy,
    Prices,
    QualityRow,
    ScoredPolicy,
    apgr,
    evaluate_cost,
    format_cost_report,
    load_prices,
    load_quality,
    semroute_policy,
    sweep,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "quality_small.jsonl"
SHIPPED_PRICES = REPO / "training" / "data" / "prices_routellm.toml"
SHARED_QUALITY = REPO.parent / "shared" / "data" / "quality"

# small: $1 in / $2 out per 1M; large: $10 / $30; 100 output tokens a call.
# Row cost: small (t + 200) µ$, large (10 t + 3000) µ$, t = ceil(len(text) / 4).
PRICES_TOML = """
[defaults]
output_tokens = 100

[models.small]
input = 1.0
output = 2.0

[models.large]
input = 10.0
output = 30.0

[policy]
math = ["large", "small"]
analysis = ["large", "small"]
code = ["large", "small"]
default = ["small", "large"]
"""
# Prompt tokens of the 12 fixture rows (sum 151).
TOKENS = [9, 7, 8, 9, 13, 7, 16, 27, 17, 8, 17, 13]


@pytest.fixture
def prices(tmp_path: Path) -> Prices:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES_TOML)
    return load_prices(path)


@pytest.fixture
def rows() -> list[QualityRow]:
    return load_quality(FIXTURE)


def by_router_task(rows: list[QualityRow], prices: Prices) -> Policy:
    """A fake classifier: the row's own router_task, then the prices' preference."""
    task = {r.text: r.router_task or "default" for r in rows}

    def policy(texts: list[str]) -> list[str]:
        return [prices.preference(task[t], ["small", "large"])[0] for t in texts]

    return policy


def test_fixture_reads_both_outcome_kinds(rows: list[QualityRow]) -> None:
    assert len(rows) == 12
    assert [max(-(-len(r.text) // 4), 0) for r in rows] == TOKENS
    assert rows[0].quality == {"small": 0.0, "large": 1.0}  # correct: {model: bool}
    assert rows[8].quality == {"small": 0.5, "large": 0.75}  # scores: {model: float}
    assert (rows[8].label, rows[8].source, rows[8].router_task) == (
        "summarize",
        "fixture",
        "summarize",
    )


def test_baselines_exact(rows: list[QualityRow], prices: Prices) -> None:
    report = evaluate_cost(rows, lambda texts: ["small"] * len(texts), prices)
    base = report["baselines"]
    # Quality: small 6/12 (4 bools + 0.5 + 0.25 + 1 + 0.25), large 9/12 (6 bools + 3.0).
    # Cost: small (151/12 + 200) µ$ = 212.5833 µ$, large (1510/12 + 3000) µ$ = 3125.8333 µ$.
    assert base["cheapest"] == {
        "model": "small",
        "quality": 0.5,
        "cost": 0.00021258,
        "pgr": 0.0,
        "cost_share": 0.0,
    }
    assert base["best"] == {
        "model": "large",
        "quality": 0.75,
        "cost": 0.00312583,
        "pgr": 1.0,
        "cost_share": 1.0,
    }
    assert report["models"] == {
        "small": {"quality": 0.5, "cost": 0.00021258},
        "large": {"quality": 0.75, "cost": 0.00312583},
    }
    # Oracle: large on rows 0, 3, 4, 8, 9, 11 (t sum 69), small on the rest (t sum 82;
    # row 7 nobody gets right → small; row 10 ties at 1.0 → small). Quality 10/12;
    # cost (10·69 + 6·3000 + 82 + 6·200) / 12 = 1664.3333 µ$;
    # share (1664.3333 − 212.5833) / 2913.25 = 0.49833.
    assert base["oracle"] == {
        "quality": 0.8333,
        "cost": 0.00166433,
        "pgr": 1.3333,
        "cost_share": 0.4983,
        "picks": {"small": 0.5, "large": 0.5},
    }


def test_policy_point_pgr_and_cost_share(rows: list[QualityRow], prices: Prices) -> None:
    report = evaluate_cost(rows, by_router_task(rows, prices), prices)
    # large on math/code/analysis rows 0, 1, 4, 6, 7, 11: quality 1+1+1+0+0+0.75, t sum 85;
    # small on rows 2, 3, 5, 8, 9, 10: quality 1+0+1+0.5+0.25+1, t sum 66.
    # quality 7.5/12 = 0.625 → PGR (0.625 − 0.5) / 0.25 = 0.5;
    # cost (850 + 18000 + 66 + 1200) / 12 = 1676.3333 µ$ → share 1463.75 / 2913.25 = 0.50245.
    assert report["policy"] == {
        "quality": 0.625,
        "cost": 0.00167633,
        "pgr": 0.5,
        "cost_share": 0.5024,
        "picks": {"small": 0.5, "large": 0.5},
    }
    # No hardness: the curve is (0, 0) → the policy → (1, 1).
    assert report["curve"] == [[0.0, 0.0], [0.5024, 0.5], [1.0, 1.0]]
    share = 1463.75 / 2913.25
    assert report["apgr"] == round(share * 0.5 / 2 + (1 - share) * 1.5 / 2, 4)


def test_random_same_cost_matches_the_policys_cost(rows: list[QualityRow], prices: Prices) -> None:
    policy = by_router_task(rows, prices)
    report = evaluate_cost(rows, policy, prices, seed=3, seeds=4000)
    mixed = report["baselines"]["random_same_cost"]
    assert mixed["p_best"] == report["policy"]["cost_share"]
    assert mixed["cost"] == pytest.approx(report["policy"]["cost"], rel=0.01)
    assert mixed["quality"] == pytest.approx(0.5 + 0.25 * mixed["p_best"], abs=0.01)
    again = evaluate_cost(rows, policy, prices, seed=3, seeds=4000)
    assert again["baselines"]["random_same_cost"] == mixed


def test_json_shape(rows: list[QualityRow], prices: Prices) -> None:
    report = evaluate_cost(rows, by_router_task(rows, prices), prices)
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {"n", "models", "policy", "baselines", "apgr", "curve"}
    assert report["n"] == 12
    assert set(report["baselines"]) == {"cheapest", "best", "random_same_cost", "oracle"}
    point = {"quality", "cost", "pgr", "cost_share"}
    assert point <= set(report["policy"])
    assert all(point <= set(b) for b in report["baselines"].values())
    assert all(len(p) == 2 for p in report["curve"])


def synthetic(quality_small: list[float], quality_large: list[float]) -> list[QualityRow]:
    """Rows of equal length: cost share is then the share of rows sent to the best model."""
    return [
        QualityRow("abcd", {"small": s, "large": b})
        for s, b in zip(quality_small, quality_large, strict=True)
    ]


def test_apgr_trapezoid() -> None:
    assert apgr([(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)]) == pytest.approx(0.65)
    assert apgr([(0.0, 0.0), (1.0, 1.0)]) == pytest.approx(0.5)


def test_sweep_and_apgr_on_a_synthetic_curve(prices: Prices) -> None:
    frame = Frame.build(synthetic([0, 0, 1, 1], [1, 1, 1, 0]), prices)
    # Gain per row sent to large: +1, +1, 0, −1; quality gap 0.25 → PGR 0, 1, 2, 2, 1.
    curve = sweep(frame, [4.0, 3.0, 2.0, 1.0])
    assert np.allclose(curve, [(0, 0), (0.25, 1), (0.5, 2), (0.75, 2), (1, 1)])
    assert apgr(curve) == pytest.approx(1.375)
    tied = sweep(frame, [1.0, 1.0, 0.0, 0.0])  # one point per distinct threshold
    assert np.allclose(tied, [(0, 0), (0.5, 2), (1, 1)])
    assert apgr(tied) == pytest.approx(1.25)
    assert apgr(sweep(frame, [0.0] * 4)) == pytest.approx(0.5)  # no ranking: the diagonal


def test_hardness_drives_the_curve(rows: list[QualityRow], prices: Prices) -> None:
    gain = {r.text: r.quality["large"] - r.quality["small"] for r in rows}
    policy = by_router_task(rows, prices)
    good = evaluate_cost(rows, policy, prices, hardness=lambda t: [gain[x] for x in t])
    bad = evaluate_cost(rows, policy, prices, hardness=lambda t: [-gain[x] for x in t])
    assert good["curve"][0] == [0.0, 0.0]
    assert good["curve"][-1] == [1.0, 1.0]
    assert good["apgr"] > 0.5 > bad["apgr"]
    assert good["policy"] == bad["policy"]


def test_token_assumptions(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        "[defaults]\ninput_tokens = 10\noutput_tokens = 50\n"
        "[output_tokens]\ngsm8k = 300\n"
        "[models.a]\ninput = 1.0\noutput = 1.0\n"
        "[models.b]\ninput = 1.0\noutput = 1.0\ninput_tokens = 0\noutput_tokens = 7\n"
    )
    prices = load_prices(path)
    plain, gsm = QualityRow("abcd" * 5, {}), QualityRow("abcd" * 5, {}, label="gsm8k")
    assert prices.call_cost("a", plain) == pytest.approx((5 + 10 + 50) / 1e6)
    assert prices.call_cost("a", gsm) == pytest.approx((5 + 10 + 300) / 1e6)
    assert prices.call_cost("b", gsm) == pytest.approx((5 + 0 + 7) / 1e6)
    assert prices.call_cost("org/a", plain) == prices.call_cost("a", plain)  # prefix dropped


def test_shipped_prices_cover_the_shared_models() -> None:
    prices = load_prices(SHIPPED_PRICES)
    data = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]
    assert prices.price(data[1]).output == 30.0
    assert prices.price("Mixtral-8x7B-Instruct-v0.1").input == 0.6
    tasks = ("code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract")
    assert set(prices.policy) == {*tasks, "default"}
    for task in ("math", "analysis"):
        assert prices.preference(task, data)[0] == "gpt-4-1106-preview"
    for task in ("chat", "lookup", "extract", "summarize"):
        assert prices.preference(task, data)[0] == data[0]


@pytest.mark.skipif(not SHARED_QUALITY.is_dir(), reason="shared quality data not present")
def test_shared_gsm8k_baselines() -> None:
    rows = load_quality(SHARED_QUALITY / "routellm_gsm8k_2model.jsonl")
    prices = load_prices(SHIPPED_PRICES)
    report = evaluate_cost(rows, lambda t: ["gpt-4-1106-preview"] * len(t), prices)
    assert report["n"] == 1319
    assert report["baselines"]["cheapest"]["quality"] == 0.6384  # Mixtral: 842 / 1319
    assert report["baselines"]["best"]["quality"] == 0.8567  # GPT-4: 1130 / 1319
    assert report["baselines"]["oracle"]["quality"] == 0.9287  # all but 94 rows both miss
    assert report["policy"]["pgr"] == 1.0


def test_semroute_policy_with_a_fake_encoder(prices: Prices) -> None:
    encoder = HashingEncoder()
    words = {
        "math": "solve equation integral sum compute",
        "lookup": "who what capital year invented",
        "chat": "hi hello how are you weekend",
    }
    centroids = CentroidSet(
        {t: encoder.encode([w]) for t, w in words.items()}, dict.fromkeys(words, 0.3)
    )
    policy = semroute_policy(centroids, encoder, prices, models=["small", "large"])
    calls = encoder.calls
    assert isinstance(policy, ScoredPolicy)
    assert policy.hard == {"math"}
    texts = ["solve this equation", "what is the capital", "hello how are you", "zzz qqq"]
    # The unmatched text is not confident → the default route (small first in PRICES_TOML).
    assert policy(texts) == ["large", "small", "small", "small"]
    hardness = policy.hardness(texts)
    assert hardness[0] > 0 > hardness[1]
    assert encoder.calls == calls + 1  # each text embedded once, however often it is asked about
    rows = [QualityRow(t, {"small": 0.0, "large": 1.0}) for t in texts]
    report = evaluate_cost(rows, policy, prices)
    assert report["policy"]["picks"] == {"small": 0.75, "large": 0.25}
    assert report["apgr"] is not None


def test_bad_inputs(tmp_path: Path, prices: Prices) -> None:
    bad = tmp_path / "bad.jsonl"
    for line, message in [
        ("{not json", ":1:"),
        (json.dumps({"text": "x", "correct": {"a": "yes"}}), "correct['a']"),
        (json.dumps({"text": "x", "scores": {"a": 1.5}}), "scores['a']"),
        (json.dumps({"text": "x"}), "no `correct`"),
        (json.dumps(["x"]), "string `text`"),
    ]:
        bad.write_text(line + "\n")
        with pytest.raises(InvalidRequest, match=re.escape(message)):
            load_quality(bad)
    with pytest.raises(InvalidRequest, match="not found"):
        load_quality(tmp_path / "missing.jsonl")
    # Only "\n" ends a row (an MMLU question holds a raw U+0085).
    odd = json.dumps({"text": "a\u2028b\x85c", "correct": {"m": True}}, ensure_ascii=False)
    bad.write_text(odd + "\n\n", encoding="utf-8")
    assert load_quality(bad)[0].text == "a\u2028b\x85c"
    mixed = [QualityRow("a", {"small": 1.0, "large": 1.0}), QualityRow("b", {"small": 1.0})]
    with pytest.raises(InvalidRequest, match="row 2"):
        evaluate_cost(mixed, lambda t: ["small"] * len(t), prices)
    with pytest.raises(InvalidRequest, match="no price"):
        evaluate_cost([QualityRow("a", {"tiny": 1.0})], lambda t: ["tiny"], prices)
    with pytest.raises(InvalidRequest, match="must pick"):
        evaluate_cost(synthetic([1], [1]), lambda t: ["gpt-5"], prices)
    with pytest.raises(InvalidRequest, match="no rows"):
        evaluate_cost([], lambda t: [], prices)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[models.a]\ninput = -1.0\noutput = 1.0\n", "models.a.input"),
        ("[models.a]\ninput = 1.0\noutput = 1.0\ncolour = 1\n", "models.a.colour"),
        ("[models.a]\ninput = 1.0\noutput = 1.0\n[policy]\nmath = ['b']\n", ""),
        ("models = 3 3\n", None),
    ],
)
def test_bad_prices(tmp_path: Path, toml: str, key: str | None) -> None:
    path = tmp_path / "p.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_prices(path)
    if key is None:
        assert "not valid TOML" in str(info.value)
    else:
        assert info.value.key == key
    with pytest.raises(ConfigError, match="not found"):
        load_prices(tmp_path / "none.toml")


def test_oracle_prefers_the_cheaper_of_tied_models(prices: Prices) -> None:
    report = evaluate_cost(synthetic([1, 0], [1, 1]), lambda t: ["small"] * len(t), prices)
    assert report["baselines"]["oracle"]["picks"] == {"small": 0.5, "large": 0.5}
    assert np.isclose(report["baselines"]["oracle"]["quality"], 1.0)


def test_text_report(rows: list[QualityRow], prices: Prices) -> None:
    text = format_cost_report(evaluate_cost(rows, by_router_task(rows, prices), prices))
    assert "policy" in text and "oracle" in text and "APGR" in text
    assert "small" in text.splitlines()[3]
