"""Selection is a pure function: every rule is checked here without any I/O."""

from __future__ import annotations

import itertools

import pytest

from router.config.settings import ModelConfig
from router.errors import NoCandidate
from router.selection.candidates import estimated_cost, select
from router.types import BudgetTier, Capability, ModelTier, Priority, Requirements

ALL = frozenset(Capability)


def model(
    provider: str,
    price: float,
    latency: float,
    tier: ModelTier,
    caps: frozenset[Capability] = ALL,
    window: int = 100_000,
    quality: float = 0.5,
) -> ModelConfig:
    return ModelConfig(
        provider=provider,
        upstream=provider + "-up",
        input_price=price,
        output_price=price * 4,
        latency_ms=latency,
        tier=tier,
        context_window=window,
        capabilities=caps,
        quality={"code": quality},
    )


CATALOGUE = {
    "big": model("a", 3.0, 2000, ModelTier.PREMIUM, window=200_000),
    "mid": model("b", 0.6, 500, ModelTier.STANDARD, caps=frozenset({Capability.JSON_MODE})),
    "small": model("c", 0.1, 900, ModelTier.ECONOMY, caps=frozenset(), window=8_000),
    "vision": model("d", 1.0, 1500, ModelTier.STANDARD, window=32_000, quality=0.9),
}
ROUTE = ["big", "mid", "small"]
NONE = Requirements()


def names(sel: object) -> list[str]:
    return [c.model for c in sel.candidates]  # type: ignore[attr-defined]


def test_quality_keeps_configured_order() -> None:
    assert names(select("code", ROUTE, CATALOGUE, requirements=NONE)) == ["big", "mid", "small"]


def test_cost_orders_by_estimated_price() -> None:
    sel = select("code", ROUTE, CATALOGUE, requirements=NONE, priority=Priority.COST)
    assert names(sel) == ["small", "mid", "big"]
    assert "by price" in sel.candidates[0].reason


def test_speed_orders_by_latency() -> None:
    sel = select("code", ROUTE, CATALOGUE, requirements=NONE, priority=Priority.SPEED)
    assert names(sel) == ["mid", "small", "big"]


def test_cost_uses_the_request_token_mix() -> None:
    # Output-heavy vs input-heavy requests compare models by their own token estimates.
    req = Requirements(context_tokens=1_000, output_tokens=900)
    assert estimated_cost(CATALOGUE["big"], req) == pytest.approx((100 * 3.0 + 900 * 12.0) / 1e6)
    assert estimated_cost(CATALOGUE["big"], NONE) == pytest.approx((1000 * 3 + 1000 * 12) / 1e6)


@pytest.mark.parametrize(
    ("req", "expected", "skipped_reason"),
    [
        (Requirements(tools=True), ["big"], "lacks tools"),
        (Requirements(json_mode=True), ["big", "mid"], "lacks json_mode"),
        (Requirements(vision=True), ["big"], "lacks vision"),
        (Requirements(context_tokens=50_000), ["big", "mid"], "window is 8000"),
        (Requirements(context_tokens=150_000), ["big"], "window is 100000"),
    ],
)
def test_capability_and_window_filters(
    req: Requirements, expected: list[str], skipped_reason: str
) -> None:
    sel = select("code", ROUTE, CATALOGUE, requirements=req)
    assert names(sel) == expected
    assert any(skipped_reason in s.reason for s in sel.skipped)


def test_widens_to_catalogue_when_route_has_no_capable_model() -> None:
    sel = select("code", ["small"], CATALOGUE, requirements=Requirements(vision=True))
    # vision has the best quality score for the task among the capable outsiders.
    assert names(sel) == ["vision", "big"]
    assert "outside the route" in sel.candidates[0].reason


def test_no_capable_model_names_what_was_required() -> None:
    req = Requirements(tools=True, vision=True, context_tokens=500_000)
    with pytest.raises(NoCandidate) as info:
        select("code", ROUTE, CATALOGUE, requirements=req)
    assert "tools" in info.value.message and "vision" in info.value.message
    assert "500000" in info.value.message
    assert set(info.value.requirements) >= {"tools", "vision"}


def test_unavailable_models_are_skipped() -> None:
    sel = select(
        "code", ROUTE, CATALOGUE, requirements=NONE, unavailable={"big": "not allowed for this key"}
    )
    assert names(sel) == ["mid", "small"]
    assert sel.skipped[0].reason == "not allowed for this key"


def test_balanced_tier_skips_premium() -> None:
    sel = select("code", ROUTE, CATALOGUE, requirements=NONE, budget_tier=BudgetTier.BALANCED)
    assert names(sel) == ["mid", "small"]
    assert any("premium skipped" in s.reason for s in sel.skipped)


def test_balanced_tier_keeps_premium_when_the_task_requires_it() -> None:
    sel = select(
        "code",
        ROUTE,
        CATALOGUE,
        requirements=NONE,
        budget_tier=BudgetTier.BALANCED,
        premium_required=True,
    )
    assert names(sel) == ["big", "mid", "small"]


def test_balanced_tier_with_only_premium_models_keeps_them() -> None:
    sel = select("code", ["big"], CATALOGUE, requirements=NONE, budget_tier=BudgetTier.BALANCED)
    assert names(sel) == ["big"]
    assert "only premium" in sel.candidates[0].reason


def test_economy_tier_goes_cheapest_first_whatever_the_priority() -> None:
    for priority in Priority:
        sel = select(
            "code",
            ROUTE,
            CATALOGUE,
            requirements=NONE,
            priority=priority,
            budget_tier=BudgetTier.ECONOMY,
        )
        assert names(sel) == ["small", "mid"]


def test_exhausted_tier_selects_cache_only() -> None:
    sel = select("code", ROUTE, CATALOGUE, requirements=NONE, budget_tier=BudgetTier.EXHAUSTED)
    assert sel.cache_only
    assert sel.candidates == ()
    assert [s.reason for s in sel.skipped] == ["daily budget exhausted: cache only"]


@pytest.mark.parametrize(
    ("priority", "tier"),
    list(itertools.product(Priority, [t for t in BudgetTier if t is not BudgetTier.EXHAUSTED])),
)
def test_every_combination_returns_capable_distinct_models(
    priority: Priority, tier: BudgetTier
) -> None:
    req = Requirements(json_mode=True)
    sel = select("code", ROUTE, CATALOGUE, requirements=req, priority=priority, budget_tier=tier)
    chosen = names(sel)
    assert chosen and len(chosen) == len(set(chosen))
    assert all(Capability.JSON_MODE in CATALOGUE[m].capabilities for m in chosen)
    assert all(c.reason for c in sel.candidates)
    # What was considered is either chosen or skipped with a reason: nothing vanishes.
    assert set(chosen) | {s.model for s in sel.skipped} == set(ROUTE)


def test_selection_does_not_mutate_its_inputs() -> None:
    route = list(ROUTE)
    select("code", route, CATALOGUE, requirements=NONE, priority=Priority.COST)
    assert route == ROUTE
