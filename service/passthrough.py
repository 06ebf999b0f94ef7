"""OpenAI chat-completions fields semroute passes to the upstream without interpreting them.

The common ones are typed here, so a malformed value is a 400 before any upstream call; any
other field a client sends (a newer OpenAI field, a vLLM extra such as ``top_k``) passes too.
Where each one goes is ``router.providers.fields``: OpenAI-compatible upstreams get them all,
Anthropic those it has an equivalent for.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Penalty = Annotated[float, Field(ge=-2, le=2)]
_SHORT = 64


class PassthroughFields(BaseModel):
    model_config = ConfigDict(extra="allow")

    # JSON types only (as OpenAI checks them): "yes" is not a boolean, "5" not a seed.
    seed: StrictInt | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    parallel_tool_calls: StrictBool | None = None
    reasoning_effort: str | None = Field(default=None, max_length=_SHORT)
    metadata: dict[str, str] | None = None
    service_tier: str | None = Field(default=None, max_length=_SHORT)
    store: StrictBool | None = None

    def passthrough(self) -> dict[str, Any]:
        """The fields to pass on: the typed ones that were given, then any other field."""
        out = {
            name: value
            for name in PassthroughFields.model_fields
            if (value := getattr(self, name)) is not None
        }
        out.update({k: v for k, v in (self.model_extra or {}).items() if v is not None})
        return out
