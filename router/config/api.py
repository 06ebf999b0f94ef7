"""``[api]``: how the client-facing APIs treat what semroute does not interpret, and the SSE
keep-alive; plus the Anthropic prompt-cache price defaults of the catalogue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Anthropic bills cache reads at 0.1× and cache writes (5-minute TTL) at 1.25× the input price.
ANTHROPIC_CACHE_READ = 0.1
ANTHROPIC_CACHE_WRITE = 1.25


class ApiConfig(BaseModel):
    """``unsupported_fields``: a request field that no candidate can honour (e.g. ``seed`` on
    a route of Anthropic models) is a 400 naming it (``"reject"``), or is dropped with a
    warning (``"drop"``). ``sse_keepalive_s``: a stream whose first token takes longer starts
    at once and sends an SSE comment this often, so proxies do not cut an idle connection
    (0 = off; then a failure before the first token keeps its HTTP status)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unsupported_fields: Literal["reject", "drop"] = "reject"
    sse_keepalive_s: Annotated[float, Field(ge=0)] = 15.0


def anthropic_cache_prices(raw: Any) -> Any:
    """Fill unset cache prices of models served by Anthropic providers (raw TOML data)."""
    if not isinstance(raw, dict):
        return raw
    providers, models = raw.get("providers"), raw.get("models")
    if not isinstance(providers, dict) or not isinstance(models, dict):
        return raw
    anthropic = {
        n for n, p in providers.items() if isinstance(p, dict) and p.get("kind") == "anthropic"
    }
    filled = {}
    for name, model in models.items():
        price = model.get("input_price") if isinstance(model, dict) else None
        if not isinstance(price, int | float) or model.get("provider") not in anthropic:
            filled[name] = model
            continue
        filled[name] = {
            "cached_input_price": price * ANTHROPIC_CACHE_READ,
            "cache_write_price": price * ANTHROPIC_CACHE_WRITE,
            **{k: v for k, v in model.items() if v is not None},
        }
    return {**raw, "models": filled}
