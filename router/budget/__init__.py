"""The daily budget: ledgers (memory, Redis), tiers, admission and settlement."""

from router.budget.ledger import MICROS, Reservation
from router.budget.redis_ledger import RedisLedger
from router.budget.spending import BudgetView, FailoverLedger, Spending, cost_usd, usage_cost

__all__ = [
    "MICROS",
    "BudgetView",
    "FailoverLedger",
    "RedisLedger",
    "Reservation",
    "Spending",
    "cost_usd",
    "usage_cost",
]
