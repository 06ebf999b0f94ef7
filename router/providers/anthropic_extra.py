"""Passed-through OpenAI fields (``ChatRequest.extra``) in a Messages API body.

``fields.ANTHROPIC_MAPPED`` lists what can be expressed here; anything else reaching this point
was let through by ``[api] unsupported_fields = "drop"`` and is dropped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from router.providers.fields import unsupported
from router.types import JSON

log = logging.getLogger("semroute.providers")

# reasoning_effort → extended-thinking budget (Anthropic's minimum budget is 1,024 tokens).
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
SERVICE_TIERS = {"auto": "auto", "default": "standard_only"}


class UntranslatableRequest(ValueError):
    """The request has no Messages API equivalent (e.g. tool arguments that are not JSON)."""


def apply_extra(body: JSON, extra: Mapping[str, Any], model: str) -> None:
    """Map ``extra`` into ``body`` in place. Raises: UntranslatableRequest."""
    dropped = unsupported("anthropic", extra)
    if dropped:
        log.warning("model %s (Anthropic): fields dropped, no equivalent: %s", model, dropped)
    if extra.get("parallel_tool_calls") is False and body.get("tools"):
        choice = body.get("tool_choice") or {"type": "auto"}
        if choice.get("type") != "none":
            body["tool_choice"] = {**choice, "disable_parallel_tool_use": True}
    if extra.get("thinking") is not None:
        body["thinking"] = extra["thinking"]
    elif (budget := THINKING_BUDGETS.get(str(extra.get("reasoning_effort")))) is not None:
        _think(body, budget)
    tier = SERVICE_TIERS.get(str(extra.get("service_tier")))
    if tier is not None:
        body["service_tier"] = tier
    for native in ("top_k", "cache_control"):
        if extra.get(native) is not None:
            body[native] = extra[native]
    if isinstance(extra.get("output_config"), Mapping):
        body["output_config"] = {**extra["output_config"], **body.get("output_config", {})}


def structured_format(response_format: Mapping[str, Any] | None) -> JSON | None:
    """A strict JSON schema as Anthropic's native structured output (``output_config.format``);
    selection sends it only to models with the ``structured_outputs`` capability."""
    fmt = response_format or {}
    spec = fmt.get("json_schema")
    if not isinstance(spec, Mapping) or fmt.get("type") != "json_schema":
        return None
    if not spec.get("strict") or not isinstance(spec.get("schema"), Mapping):
        return None
    return {"type": "json_schema", "schema": spec["schema"]}


def _think(body: JSON, budget: int) -> None:
    # Extended thinking rejects sampling changes; max_tokens counts the thinking too.
    if "temperature" in body or "top_p" in body:
        raise UntranslatableRequest("reasoning_effort cannot be combined with temperature or top_p")
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    body["max_tokens"] = int(body["max_tokens"]) + budget
