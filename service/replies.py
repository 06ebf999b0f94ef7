"""The JSON of a non-streamed chat answer, built as plain data.

The shape is ``schemas.ChatCompletionResponse`` (the OpenAPI contract, checked by the tests);
it is built here without pydantic because constructing, validating and dumping the models
again for every answer costs more than the rest of the response path.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from router.types import Answer, Attempt, Completion, Usage


def _attempt(a: Attempt) -> dict[str, Any]:
    return {
        "model": a.model,
        "provider": a.provider,
        "deployment": a.deployment,
        "outcome": a.outcome,
        "latency_ms": float(a.latency_ms),
        "status": a.status,
        "detail": a.detail,
    }


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)  # numpy scalars are not JSON


def semroute_info(answer: Answer[Completion]) -> dict[str, Any]:
    """``SemrouteInfo``: how semroute answered."""
    d = answer.decision
    m = d.match
    return {
        "task": d.task if m is None else m.task,
        "confident": m.confident if m else None,
        "route": d.route,
        "model": answer.model,
        "provider": answer.provider,
        "model_tier": answer.model_tier.value,
        "attempts": [_attempt(a) for a in answer.attempts],
        "cache": "hit" if answer.cached else "miss",
        "cache_similarity": _float(d.cache.similarity) if d.cache else None,
        "budget_tier": d.budget_tier.value,
        "budget_remaining": _float(d.budget_remaining),
        "centroid_version": d.centroid_version,
    }


def info_headers(info: dict[str, Any]) -> dict[str, str]:
    """The ``x-semroute-*`` headers; no task header for a named model (there was no task)."""
    task = {"x-semroute-task": info["task"]} if info["task"] else {}
    return {
        **task,
        "x-semroute-model": info["model"],
        "x-semroute-provider": info["provider"],
        "x-semroute-attempts": str(len(info["attempts"])),
        "x-semroute-cache": info["cache"],
        "x-semroute-tier": info["budget_tier"],
    }


def usage_json(usage: Usage) -> dict[str, Any]:
    """``UsageOut``: the counts, and the upstream's ``*_tokens_details`` when it sent them."""
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    for name, details in usage.details.items():
        out[name] = dict(details)
    return out


def completion_body(answer: Answer[Completion], info: dict[str, Any]) -> dict[str, Any]:
    """``ChatCompletionResponse``."""
    c = answer.result
    choice = {**c.choice_extra, "index": 0, "message": dict(c.message)}
    choice["finish_reason"] = c.finish_reason
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": c.created or int(time.time()),
        "model": info["model"],
        "choices": [choice],
        "usage": usage_json(c.usage),
        "semroute": info,
    }
