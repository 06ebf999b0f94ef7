"""Cache namespaces: tenant + a hash of everything that shapes an answer besides the last
user message's text (system prompt, tools, response format, temperature bucket, other sampling
parameters, earlier turns, images, documents, tool calls and results, a model the client named,
and the tier of the model that answered). Entries are only looked up within their namespace."""

from __future__ import annotations

import hashlib
import json

from router.cache.beyond_text import beyond_text
from router.types import ChatRequest, ModelTier


def temperature_bucket(t: float | None) -> str:
    if t is None:
        return "default"
    return "0" if t == 0 else "low" if t <= 0.3 else "mid" if t <= 0.8 else "high"


def namespace(request: ChatRequest, model_tier: ModelTier | str) -> str:
    """tenant + hash of what shapes the answer besides the last user message's text (and the
    client key's model allow-list, when it has one)."""
    users = [i for i, m in enumerate(request.messages) if m.role == "user"]
    history = request.messages[: users[-1]] if users else request.messages
    shape = {
        "system": [m.text() for m in history if m.role in ("system", "developer")],
        "history": [[m.role, m.text()] for m in history if m.role not in ("system", "developer")],
        "tools": request.tools,
        "tool_choice": request.tool_choice,
        "response_format": request.response_format,
        "temperature": temperature_bucket(request.temperature),
        "top_p": request.top_p,
        "stop": request.stop,
        "max_tokens": request.max_tokens,
        "tier": str(model_tier),
    }
    if request.extra:  # seed, penalties, logit_bias …: only when given (older keys stay valid)
        shape["extra"] = request.extra
    if request.allowed_models is not None:  # a key's allow-list separates as strictly as a tenant
        shape["allowed_models"] = sorted(request.allowed_models)
    if beyond := beyond_text(request.messages, users[-1] if users else None):
        shape["beyond_text"] = beyond  # images, documents, tool calls and results
    if not request.model.startswith("auto"):  # a named model is answered by its own answers
        shape["model"] = request.model
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()
    return f"{request.tenant}:{digest[:32]}"
