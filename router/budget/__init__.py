"""The daily budget: ledgers (memory, Redis), tiers, admission and settlement.

``Reservation`` (a hold) is shared vocabulary: ``router.types``."""

from router.budget.admission import BudgetAdmission
from router.budget.ledger import MICROS
from router.budget.redis_ledger import RedisLedger
from router.budget.spending import BudgetView, FailoverLedger, Spending, cost_usd, usage_cost

__all__ = [
    "MICROS",
    "BudgetAdmission",
    "BudgetView",
    "FailoverLedger",
    "RedisLedger",
    "Spending",
    "cost_usd",
    "usage_cost",
]
