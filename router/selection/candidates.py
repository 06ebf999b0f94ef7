"""Candidate selection: a pure function of the route, the catalogue and the request's needs.

Order of operations: drop what cannot serve the request (capabilities, context window,
unavailable deployments) → apply the budget tier (balanced skips premium unless required,
economy goes cheapest-first) → reorder by priority (quality keeps the configured order, cost
sorts by estimated price, speed by typical latency). If the route has nothing capable left,
the rest of the catalogue is searched before giving up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from router.config import ModelConfig
from router.errors import NoCandidate
from router.types import BudgetTier, Candidate, ModelTier, Priority, Requirements, Skipped

# When a request gives no token estimate, price is compared at a 1:1 input/output mix.
_DEFAULT_MIX = (1_000, 1_000)


@dataclass(frozen=True, slots=True)
class Selection:
    """The ranked candidates and why others were left out. ``cache_only``: the budget is
    exhausted, no model may be called (there are no candidates) and only the cache may answer."""

    candidates: tuple[Candidate, ...]
    skipped: tuple[Skipped, ...]
    cache_only: bool = False


CACHE_ONLY = Selection((), (Skipped("*", "daily budget exhausted: cache only"),), cache_only=True)


def estimated_cost(model: ModelConfig, req: Requirements) -> float:
    """USD for the request's token estimate (or a 1k/1k mix when there is none)."""
    n_in, n_out = (req.context_tokens - req.output_tokens, req.output_tokens)
    if n_in <= 0 and n_out <= 0:
        n_in, n_out = _DEFAULT_MIX
    return (max(n_in, 0) * model.input_price + max(n_out, 0) * model.output_price) / 1e6


def _unfit_reason(model: ModelConfig, req: Requirements) -> str | None:
    missing = sorted(c.value for c in req.capabilities() - model.capabilities)
    if missing:
        return f"lacks {', '.join(missing)}"
    if req.context_tokens > model.context_window:
        return f"needs {req.context_tokens} tokens of context, window is {model.context_window}"
    return None


def _describe(req: Requirements) -> list[str]:
    needs = sorted(c.value for c in req.capabilities())
    if req.context_tokens:
        needs.append(f"context >= {req.context_tokens} tokens")
    return needs


def select(
    route: str,
    ranked: Sequence[str],
    catalogue: Mapping[str, ModelConfig],
    *,
    requirements: Requirements,
    priority: Priority = Priority.QUALITY,
    budget_tier: BudgetTier = BudgetTier.QUALITY,
    premium_required: bool = False,
    unavailable: Mapping[str, str] | None = None,
) -> Selection:
    """Rank the models that can serve a request routed to ``route``; in the exhausted tier,
    the cache-only selection (no candidates).

    ``unavailable`` maps models that may not be used to why (a key's allow-list, …).

    Raises:
        NoCandidate: no catalogue model meets the requirements; the message names them.
    """
    if budget_tier is BudgetTier.EXHAUSTED:
        return CACHE_ONLY
    skipped: list[Skipped] = []
    unavailable = unavailable or {}
    fit = _fit(ranked, catalogue, requirements, unavailable, skipped)
    widened = False
    if not fit:
        others = [m for m in catalogue if m not in ranked]
        others.sort(key=lambda m: -catalogue[m].quality.get(route, 0.0))
        fit = _fit(others, catalogue, requirements, unavailable, skipped=None)
        widened = bool(fit)
    if not fit:
        needs = _describe(requirements)
        raise NoCandidate(
            "no model in the catalogue can serve this request; it requires "
            + (", ".join(needs) if needs else "an available model"),
            requirements=needs,
        )
    ordered, why = _apply_budget(fit, catalogue, requirements, budget_tier, premium_required)
    skipped.extend(
        Skipped(m, f"premium skipped in {budget_tier.value} tier") for m in fit if m not in ordered
    )
    ordered, how = _apply_priority(ordered, catalogue, requirements, priority, why)
    source = "outside the route: the only capable models" if widened else f"route {route}"
    candidates = tuple(
        Candidate(
            model=m,
            provider=catalogue[m].provider,
            tier=catalogue[m].tier,
            reason=f"#{i} by {how}; {source}" + (f"; {why}" if why else ""),
        )
        for i, m in enumerate(ordered, start=1)
    )
    return Selection(candidates=candidates, skipped=tuple(skipped))


def _fit(
    names: Sequence[str],
    catalogue: Mapping[str, ModelConfig],
    req: Requirements,
    unavailable: Mapping[str, str],
    skipped: list[Skipped] | None,
) -> list[str]:
    fit: list[str] = []
    for name in names:
        reason = unavailable.get(name) or _unfit_reason(catalogue[name], req)
        if reason is None:
            fit.append(name)
        elif skipped is not None:
            skipped.append(Skipped(name, reason))
    return fit


def _apply_budget(
    fit: list[str],
    catalogue: Mapping[str, ModelConfig],
    req: Requirements,
    tier: BudgetTier,
    premium_required: bool,
) -> tuple[list[str], str]:
    if tier is BudgetTier.QUALITY or premium_required:
        return fit, ""
    affordable = [m for m in fit if catalogue[m].tier is not ModelTier.PREMIUM]
    if not affordable:
        affordable, note = fit, f"{tier.value} tier but the route has only premium models"
    else:
        note = f"{tier.value} tier: premium skipped"
    if tier is BudgetTier.ECONOMY:
        affordable = sorted(affordable, key=lambda m: estimated_cost(catalogue[m], req))
        note = "economy tier: cheapest first"
    return affordable, note


def _apply_priority(
    names: list[str],
    catalogue: Mapping[str, ModelConfig],
    req: Requirements,
    priority: Priority,
    budget_note: str,
) -> tuple[list[str], str]:
    if budget_note.startswith("economy"):
        return names, "price"
    if priority is Priority.COST:
        return sorted(names, key=lambda m: estimated_cost(catalogue[m], req)), "price"
    if priority is Priority.SPEED:
        return sorted(names, key=lambda m: catalogue[m].latency_ms), "latency"
    return names, "configured quality order"
