"""OpenAI chat completions over httpx; also any OpenAI-compatible server (Groq, vLLM, Ollama …)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from router import errors as e
from router.providers.base import (
    UpstreamCall,
    error_for_transport,
    parse_usage,
    stream_error,
    wire_message,
)
from router.providers.fields import OPENAI_IGNORED, OPENAI_UNSUPPORTED
from router.providers.http import HttpProvider
from router.types import Chunk, Completion


def request_body(call: UpstreamCall, *, stream: bool) -> dict[str, Any]:
    """The chat-completions body: the fields semroute interprets, then every other field the
    client sent, as sent (the upstream validates them)."""
    r = call.request
    body: dict[str, Any] = {
        k: v
        for k, v in r.extra.items()
        if v is not None and k not in OPENAI_UNSUPPORTED and k not in OPENAI_IGNORED
    }
    body["model"] = call.upstream_model
    body["messages"] = [wire_message(m) for m in r.messages]
    optional = {
        # Reasoning models accept only max_completion_tokens: the client's name is kept.
        r.max_tokens_field: r.max_tokens,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "stop": list(r.stop) if r.stop else None,
        "tools": [_without_cache_control(t) for t in r.tools] if r.tools else None,
        "tool_choice": r.tool_choice,
        "response_format": dict(r.response_format) if r.response_format else None,
        "user": r.user,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _without_cache_control(tool: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tool.items() if k != "cache_control"}


class OpenAIProvider(HttpProvider):
    """One OpenAI-compatible endpoint with one key; a pooled httpx client."""

    async def complete(self, call: UpstreamCall) -> Completion:
        try:
            resp = await self._client.post(
                "chat/completions",
                json=request_body(call, stream=False),
                headers=self._headers(),
                timeout=self._timeout(call),
            )
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc
        if resp.status_code >= 400:
            raise self._status_error(resp.status_code, resp.content, resp.headers, call)
        try:
            return parse_completion(resp.json())
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc

    async def stream(self, call: UpstreamCall) -> AsyncIterator[Chunk]:
        body = request_body(call, stream=True)
        headers = self._headers()
        try:
            async with self._client.stream(
                "POST", "chat/completions", json=body, headers=headers, timeout=self._timeout(call)
            ) as resp:
                if resp.status_code >= 400:
                    content = await resp.aread()
                    raise self._status_error(resp.status_code, content, resp.headers, call)
                async for chunk in self._events(resp, call):
                    yield chunk
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc

    async def _events(self, resp: httpx.Response, call: UpstreamCall) -> AsyncIterator[Chunk]:
        finished = False
        async for line in resp.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
                if "error" in event:
                    raise stream_error(
                        self.credentials.redact(data).encode(), provider=self.name, model=call.model
                    )
                chunk = parse_chunk(event)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise error_for_transport(exc, provider=self.name, model=call.model) from exc
            finished = finished or chunk.finish_reason is not None
            yield chunk
        if not finished:
            raise e.ProviderUnavailable(
                f"{self.name}: stream ended before it finished",
                provider=self.name,
                model=call.model,
            )


def parse_completion(data: Mapping[str, Any]) -> Completion:
    """Raises: KeyError / TypeError / IndexError on a malformed body."""
    choice = data["choices"][0]
    message = dict(choice["message"])
    if not isinstance(message.get("role"), str):
        message["role"] = "assistant"
    return Completion(
        id=str(data.get("id", "")),
        upstream_model=str(data.get("model", "")),
        message=message,
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(data.get("usage")),
        created=int(data.get("created") or time.time()),
        choice_extra=_choice_extra(choice),
    )


def parse_chunk(event: Mapping[str, Any]) -> Chunk:
    """Raises: KeyError / TypeError on a malformed event."""
    choices = event.get("choices") or []
    usage = parse_usage(event["usage"]) if event.get("usage") else None
    if not choices:
        return Chunk(delta={}, usage=usage, id=str(event.get("id", "")))
    choice = choices[0]
    return Chunk(
        delta=dict(choice.get("delta") or {}),
        finish_reason=choice.get("finish_reason"),
        usage=usage,
        id=str(event.get("id", "")),
        upstream_model=str(event.get("model", "")),
        choice_extra=_choice_extra(choice),
    )


_CHOICE_FIELDS = frozenset({"index", "message", "delta", "finish_reason"})


def _choice_extra(choice: Mapping[str, Any]) -> dict[str, Any]:
    """The choice's other fields with a value (``logprobs`` when the client asked for them)."""
    return {k: v for k, v in choice.items() if k not in _CHOICE_FIELDS and v is not None}
