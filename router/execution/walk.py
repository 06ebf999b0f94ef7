"""What the fallback chain keeps while it walks one request's candidates, and the budget
admission it asks before every hop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from router.types import Attempt, Reservation


class Admission(Protocol):
    """The budget, asked before every hop: hold the estimated cost of calling ``model``."""

    async def admit(self, model: str, *, retry: bool) -> Reservation | None:
        """Raises: BudgetExhausted when this model does not fit."""
        ...

    async def refund(self, reservation: Reservation | None) -> None: ...


@dataclass(slots=True)
class Walk:
    deadline: float
    until: float = 0.0  # the end of the current candidate's share of the deadline
    # The current candidate is the chain's last: with nothing to fall over to, the first-token
    # timeout would only turn a slow answer into a failure, so it waits for the deadline.
    last: bool = False
    defer_verdict: bool = False  # streams: the breaker's verdict comes when the stream ends
    attempts: list[Attempt] = field(default_factory=list)
    auth_failed: set[str] = field(default_factory=set)
    min_window: int = 0
    admission: Admission | None = None
    admitted: bool = False  # a hop was admitted: later hops are retries and may use the reserve
    budget_refusals: int = 0  # hops the budget did not admit
    budget_retry_after: float | None = None  # from the last refusal of the budget

    async def admit(self, model: str) -> Reservation | None:
        """Hold the cost of calling ``model``. Raises: BudgetExhausted."""
        if self.admission is None:
            return None
        held = await self.admission.admit(model, retry=self.admitted)
        self.admitted = True
        return held

    async def refund(self, reservation: Reservation | None) -> None:
        if self.admission is not None and reservation is not None:
            await self.admission.refund(reservation)
