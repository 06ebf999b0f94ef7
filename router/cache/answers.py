"""Answers and cache entries: which answers are worth keeping, and the conversion both ways."""

from __future__ import annotations

import time

from router.cache.semantic import Entry, new_entry_id
from router.encoders import Vectors
from router.types import Answer, Completion, Decision, ModelTier, Usage

CACHE_PROVIDER = "cache"


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
    model_tier: ModelTier,
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
        model_tier=model_tier.value,
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


def hit_answer(decision: Decision, entry: Entry) -> Answer[Completion]:
    """A cache hit as an answer: nothing spent; usage is what the answer cost when made."""
    completion = from_entry(entry)
    return Answer(
        decision,
        completion,
        entry.model,
        CACHE_PROVIDER,
        ModelTier(entry.model_tier),
        cached=True,
        usage=completion.usage,
    )
