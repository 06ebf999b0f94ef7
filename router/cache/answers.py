"""What executing a decision produces (Answer), the budget admission used on every hop, and the
conversion between answers and cache entries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from router.budget import Reservation, Spending, cost_usd
from router.cache.semantic import Entry, new_entry_id
from router.config import Config
from router.encoders import Vectors
from router.tokens import estimate_prompt_tokens
from router.types import Attempt, ChatRequest, Completion, Decision, Usage

T = TypeVar("T")
CACHE_PROVIDER = "cache"


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A decision and what answering it produced (an upstream call, or a cache hit)."""

    decision: Decision
    result: T
    model: str
    provider: str
    model_tier: str
    attempts: tuple[Attempt, ...] = ()
    reservation: Reservation | None = None
    cached: bool = False


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


def cacheable(completion: Completion) -> bool:
    """Only finished, plain-text answers are worth reusing (tool calls depend on the world)."""
    message = completion.message
    return (
        completion.finish_reason == "stop"
        and not completion.choice_extra  # logprobs describe one sampling, not a reusable answer
        and not message.get("tool_calls")
        and isinstance(message.get("content"), str)
        and bool(message["content"].strip())
    )


def to_entry(
    namespace: str,
    text: str,
    vector: Vectors,
    completion: Completion,
    *,
    model: str,
    provider: str,
    model_tier: str,
) -> Entry:
    return Entry(
        id=new_entry_id(),
        namespace=namespace,
        text=text,
        vector=vector,
        response={
            "message": dict(completion.message),
            "finish_reason": completion.finish_reason,
            "usage": {
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
            },
            "provider": provider,
        },
        model=model,
        model_tier=model_tier,
        created_at=time.time(),
    )


def from_entry(entry: Entry) -> Completion:
    """The cached answer as a completion that cost nothing (usage is what it cost originally)."""
    usage = entry.response.get("usage") or {}
    return Completion(
        id=f"cache-{entry.id}",
        upstream_model=entry.model,
        message=dict(entry.response["message"]),
        finish_reason=entry.response.get("finish_reason", "stop"),
        usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        created=int(entry.created_at),
    )
