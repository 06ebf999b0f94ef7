"""Which passed-through request fields each wire protocol can honour.

semroute interprets a handful of chat-completions fields itself (model, messages, max_tokens,
temperature, tools, …); every other field a client sends travels in ``ChatRequest.extra``.
OpenAI-compatible upstreams get them as sent (the upstream validates them). Anthropic's
Messages API has equivalents for a few, which ``anthropic_wire`` maps; a request routed there
with any other field would lose it, so selection skips such candidates and, when none is left,
answers 400 naming the field (or, with ``[api] unsupported_fields = "drop"``, the fields are
dropped with a warning).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# OpenAI field → the Anthropic values it can be expressed with (None: any value).
ANTHROPIC_MAPPED: Mapping[str, frozenset[Any] | None] = {
    "parallel_tool_calls": None,  # false → tool_choice.disable_parallel_tool_use
    "reasoning_effort": frozenset({"none", "minimal", "low", "medium", "high"}),  # → thinking
    "service_tier": frozenset({"auto", "default"}),  # → auto | standard_only
    "top_k": None,  # not OpenAI's, but OpenAI-compatible servers (vLLM) and Anthropic take it
    # Anthropic-native (sent by /v1/messages clients)
    "thinking": None,
    "output_config": None,  # its effort (its format travels as response_format)
    "cache_control": None,  # automatic prompt caching
}
# Anthropic-native fields an OpenAI-compatible upstream has no equivalent for.
OPENAI_UNSUPPORTED = frozenset({"thinking", "output_config"})
# Anthropic-native hints an OpenAI-compatible upstream does without (it caches by itself).
OPENAI_IGNORED = frozenset({"cache_control"})
# Values equal to OpenAI's defaults ask for nothing: every protocol honours them.
NEUTRAL: Mapping[str, Any] = {
    "logprobs": False,
    "top_logprobs": 0,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {},
    "metadata": {},
    "n": 1,
    "store": False,
    "parallel_tool_calls": True,
}


def neutral(name: str, value: Any) -> bool:
    return value is None or (name in NEUTRAL and value == NEUTRAL[name])


def unsupported(kind: str, extra: Mapping[str, Any]) -> list[str]:
    """The fields of ``extra`` a provider of ``kind`` cannot honour, sorted."""
    if kind == "anthropic":
        out = []
        for name, value in extra.items():
            if neutral(name, value):
                continue
            allowed = ANTHROPIC_MAPPED.get(name, frozenset())
            if name not in ANTHROPIC_MAPPED or (allowed is not None and value not in allowed):
                out.append(name)
        return sorted(out)
    if kind == "openai":
        return sorted(k for k, v in extra.items() if k in OPENAI_UNSUPPORTED and v is not None)
    return []  # the mock provider answers anything
