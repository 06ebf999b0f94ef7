from __future__ import annotations

from pathlib import Path

from training.prices import load_prices
from training.quality import QualityRow
from training.ranking import suggest_ranking, suggestion_toml

PRICES = Path(__file__).resolve().parents[2] / "training/data/prices_routellm.toml"
CHEAP, BEST = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"


def rows(n: int, cheap_ok: float, best_ok: float) -> list[QualityRow]:
    return [
        QualityRow(f"question {i}", {CHEAP: float(i < cheap_ok * n), BEST: float(i < best_ok * n)})
        for i in range(n)
    ]


def test_cheap_first_when_it_is_as_good_and_best_first_when_it_is_not() -> None:
    prices = load_prices(PRICES)
    easy, hard = rows(50, 0.9, 0.9), rows(50, 0.4, 0.9)
    ranking = suggest_ranking(easy + hard, ["lookup"] * 50 + ["math"] * 50, prices)
    assert ranking["lookup"]["suggested_order"][0] == CHEAP
    assert ranking["math"]["suggested_order"][0] == BEST
    assert ranking["math"]["models"][CHEAP]["quality"] == 0.4
    text = suggestion_toml(ranking, "test")
    assert "[tasks.math]" in text and "not applied" in text


def test_small_groups_are_left_out() -> None:
    ranking = suggest_ranking(rows(5, 1, 1), ["chat"] * 5, load_prices(PRICES))
    assert ranking == {}
