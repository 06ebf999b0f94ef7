"""The Provider protocol and the one mapping from wire failures to the error tree.

Adapters depend only on router.types and router.errors. Each adapter calls ``error_for_status``
and ``error_for_transport`` from exactly one place, so every protocol maps the same way.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from router import errors as e
from router.types import ChatRequest, Chunk, Completion, Message, Usage


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """What a provider is asked to do: ``request`` against ``upstream_model``."""

    request: ChatRequest
    model: str  # the catalogue name, for errors and logs
    upstream_model: str
    timeout_s: float  # this attempt's time: its share of the chain's deadline
    first_token_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str = ""


class Provider(Protocol):
    """One wire protocol at one endpoint with one set of credentials."""

    @property
    def name(self) -> str: ...

    async def complete(self, call: UpstreamCall) -> Completion:
        """Raises: ProviderError (a subclass saying what went wrong)."""
        ...

    def stream(self, call: UpstreamCall) -> AsyncIterator[Chunk]:
        """Yield chunks as they arrive. Raises: ProviderError, before or during the stream."""
        ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...


_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "request_too_large",
    "exceed context limit",
)
_POLICY_MARKERS = (
    "content_policy",
    "content policy",
    "content_filter",
    "content filtering",
    "content management policy",
    "safety",
)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = headers.get("retry-after") or headers.get("retry-after-ms")
    if value is None:
        return None
    if "retry-after-ms" in headers and "retry-after" not in headers:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    model: str,
    headers: Mapping[str, str] | None = None,
    code: str = "",
) -> e.ProviderError:
    """Map an upstream HTTP error to the tree. ``code`` is the upstream's error code/type."""
    text = f"{code} {message}".lower()
    detail = f"{provider} {status}: {message}"[:500]
    if status == 413 or (status in (400, 422) and any(m in text for m in _CONTEXT_MARKERS)):
        return e.ContextTooLong(detail, status=status, provider=provider, model=model)
    if status in (400, 403, 422) and any(m in text for m in _POLICY_MARKERS):
        return e.ContentPolicy(detail, status=status, provider=provider, model=model)
    if status in (401, 403):
        return e.AuthFailed(detail, status=status, provider=provider, model=model)
    if status in (429, 529):
        wait = retry_after_seconds(headers or {})
        return e.RateLimited(
            detail, retry_after=wait, status=status, provider=provider, model=model
        )
    if status in (408, 504):
        return e.Timeout(detail, status=status, provider=provider, model=model)
    if status == 404:
        # The upstream does not know the model or path: our configuration, not the client's.
        return e.ProviderUnavailable(
            detail, retryable=False, status=status, provider=provider, model=model
        )
    if 400 <= status < 500:
        return e.BadRequest(detail, status=status, provider=provider, model=model)
    return e.ProviderUnavailable(detail, status=status, provider=provider, model=model)


def error_for_transport(exc: Exception, *, provider: str, model: str) -> e.ProviderError:
    """Map a transport failure (timeouts, refused or reset connections, bad bodies)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return e.Timeout(f"{provider}: timed out ({name})", provider=provider, model=model)
    if isinstance(exc, httpx.TransportError):
        message = f"{provider}: connection failed ({name})"
        return e.ProviderUnavailable(message, provider=provider, model=model)
    message = f"{provider}: malformed response ({name}: {exc})"[:500]
    return e.BadResponse(message, provider=provider, model=model)


# An earlier answer's thinking, kept for Anthropic (which needs it back with tool use).
_ANTHROPIC_ONLY_PARTS = frozenset({"thinking", "redacted_thinking"})


def wire_message(m: Message) -> dict[str, Any]:
    """A message in the OpenAI wire format. ``cache_control`` marks (Anthropic prompt-caching
    hints) and thinking blocks are left out: OpenAI caches prompt prefixes by itself, has no
    thinking blocks, and rejects unknown keys."""
    out: dict[str, Any] = {"role": m.role}
    if isinstance(m.content, str | None):
        out["content"] = m.content
    else:
        out["content"] = [
            {k: v for k, v in p.items() if k != "cache_control"} if "cache_control" in p else p
            for p in m.content
            if p.get("type") not in _ANTHROPIC_ONLY_PARTS
        ]
    if m.name:
        out["name"] = m.name
    if m.tool_calls:
        out["tool_calls"] = list(m.tool_calls)
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    return out


def _count(raw: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = raw.get(name)
        if value is not None:
            return int(value)
    return 0


def parse_usage(raw: Any) -> Usage:
    """OpenAI-style usage with its ``*_tokens_details`` (``cached_tokens`` counted apart);
    Anthropic's input/output names are accepted too."""
    if not isinstance(raw, Mapping):
        return Usage()
    details = {
        k: dict(v)
        for k in ("prompt_tokens_details", "completion_tokens_details")
        if isinstance(v := raw.get(k), Mapping)
    }
    cached = _count(details.get("prompt_tokens_details", {}), "cached_tokens")
    return Usage(
        prompt_tokens=_count(raw, "prompt_tokens", "input_tokens"),
        completion_tokens=_count(raw, "completion_tokens", "output_tokens"),
        cached_tokens=cached,
        details=details,
    )


def error_fields(body: bytes) -> tuple[str, str]:
    """(message, code) from an error body in the OpenAI or Anthropic shape, best effort."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:300].decode("utf-8", "replace") or "no body", ""
    err = data.get("error", data) if isinstance(data, dict) else {}
    if not isinstance(err, dict):
        return str(err)[:300], ""
    code = err.get("code") or err.get("type") or ""
    return str(err.get("message") or data)[:300], str(code)


def stream_error(body: bytes, *, provider: str, model: str) -> e.ProviderError:
    """An error event inside a stream (no HTTP status): overload → RateLimited, else 5xx."""
    message, code = error_fields(body)
    status = 429 if any(m in code for m in ("rate_limit", "overloaded")) else 503
    return error_for_status(
        status, f"error in stream: {message}", provider=provider, model=model, code=code
    )
