"""One request's dealings with the budget: a hold before every hop, settlement after the call.

The cost of an answer is computed here, once, from the usage it finally reported; the Answer
carries it from then on (metrics, logs and the outcome record read it, never price it again).
"""

from __future__ import annotations

from router.budget.spending import Spending, cost_usd, usage_cost
from router.config import Config
from router.tokens import estimate_prompt_tokens
from router.types import ChatRequest, Reservation, Usage


class BudgetAdmission:
    """Holds a request's estimated cost on the model about to be called (every hop)."""

    def __init__(self, spending: Spending, config: Config, request: ChatRequest, route: str):
        self.spending, self.config, self.request = spending, config, request
        typical = config.tasks[route].typical_output_tokens if route in config.tasks else 400
        self.prompt_tokens = estimate_prompt_tokens(request.messages)
        self.output_tokens = request.max_tokens or typical

    def estimate(self, model: str) -> float:
        return cost_usd(self.config.models[model], self.prompt_tokens, self.output_tokens)

    async def admit(self, model: str, *, retry: bool) -> Reservation | None:
        who = self.request.budget_scope or self.request.tenant
        return await self.spending.admit(
            who, self.estimate(model), self.request.priority_class, retry=retry
        )

    async def refund(self, reservation: Reservation | None) -> None:
        await self.spending.refund(reservation)

    async def settle(self, reservation: Reservation | None, model: str, usage: Usage) -> float:
        """Commit what ``usage`` on ``model`` cost (refunding the rest of the hold); returns it
        in USD."""
        cost = usage_cost(self.config.models[model], usage)
        await self.spending.settle(reservation, cost)
        return cost
