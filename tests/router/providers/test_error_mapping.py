"""Meta-test: every adapter maps every wire failure to the same class of the error tree.

Statuses, timeouts, refused connections and malformed bodies, for complete() and stream().
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from router import errors as e
from router.providers.anthropic import AnthropicProvider
from router.providers.base import Provider, UpstreamCall
from router.providers.credentials import Credentials
from router.providers.openai import OpenAIProvider
from router.types import ChatRequest, Message

CALL = UpstreamCall(
    request=ChatRequest(messages=(Message("user", "hi"),)),
    model="m",
    upstream_model="m-up",
    timeout_s=5,
)
Handler = Callable[[httpx.Request], httpx.Response]


def openai(handler: Handler) -> Provider:
    cred = Credentials("openai", env="K", file=None, style="bearer", environ={"K": "sk-x"})
    return OpenAIProvider("openai", "http://up/v1", cred, transport=httpx.MockTransport(handler))


def anthropic(handler: Handler) -> Provider:
    cred = Credentials("anthropic", env="K", file=None, style="x-api-key", environ={"K": "sk-x"})
    return AnthropicProvider("anthropic", "http://up", cred, transport=httpx.MockTransport(handler))


ADAPTERS = {"openai": openai, "anthropic": anthropic}


def error_body(adapter: str, message: str, code: str) -> dict[str, object]:
    if adapter == "anthropic":
        return {"type": "error", "error": {"type": code or "api_error", "message": message}}
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


STATUS_CASES = [
    (400, "", "bad request", e.BadRequest),
    (400, "context_length_exceeded", "prompt is too long: 300000 tokens", e.ContextTooLong),
    (400, "content_policy_violation", "rejected by the content policy", e.ContentPolicy),
    (401, "", "invalid x-api-key", e.AuthFailed),
    (403, "", "forbidden", e.AuthFailed),
    (404, "", "model not found", e.ProviderUnavailable),
    (408, "", "request timeout", e.Timeout),
    (413, "", "request too large", e.ContextTooLong),
    (422, "", "unprocessable", e.BadRequest),
    (429, "", "slow down", e.RateLimited),
    (500, "", "internal error", e.ProviderUnavailable),
    (502, "", "bad gateway", e.ProviderUnavailable),
    (503, "", "unavailable", e.ProviderUnavailable),
    (529, "overloaded_error", "overloaded", e.RateLimited),
]


async def _call(provider: Provider, stream: bool) -> None:
    try:
        if stream:
            async for _ in provider.stream(CALL):
                pass
        else:
            await provider.complete(CALL)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize(("status", "code", "message", "error"), STATUS_CASES)
async def test_status_mapping(
    adapter: str, stream: bool, status: int, code: str, message: str, error: type
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        headers = {"retry-after": "7"} if status == 429 else {}
        return httpx.Response(status, json=error_body(adapter, message, code), headers=headers)

    with pytest.raises(error) as info:
        await _call(ADAPTERS[adapter](handler), stream)
    assert type(info.value) is error
    assert info.value.provider == adapter
    assert info.value.model == "m"
    assert info.value.status == status
    if status == 429:
        assert info.value.retry_after == 7.0
    assert "sk-x" not in str(info.value)


def _raise(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


# (handler, error from complete(), error from stream()). A 200 whose body is not an event
# stream ends without ever finishing: a stream says so rather than faking success.
TRANSPORT_CASES = [
    (_raise(httpx.ReadTimeout("slow")), e.Timeout, e.Timeout),
    (_raise(httpx.ConnectTimeout("slow")), e.Timeout, e.Timeout),
    (_raise(httpx.ConnectError("refused")), e.ProviderUnavailable, e.ProviderUnavailable),
    (_raise(httpx.RemoteProtocolError("reset")), e.ProviderUnavailable, e.ProviderUnavailable),
    (
        lambda _: httpx.Response(200, content=b"<html>not json"),
        e.BadResponse,
        e.ProviderUnavailable,
    ),
    (
        lambda _: httpx.Response(200, json={"unexpected": True}),
        e.BadResponse,
        e.ProviderUnavailable,
    ),
]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize(
    ("handler", "on_complete", "on_stream"),
    TRANSPORT_CASES,
    ids=["read-timeout", "connect-timeout", "refused", "reset", "not-json", "wrong-shape"],
)
async def test_transport_and_body_mapping(
    adapter: str, stream: bool, handler: Handler, on_complete: type, on_stream: type
) -> None:
    with pytest.raises(e.ProviderError) as info:
        await _call(ADAPTERS[adapter](handler), stream)
    assert type(info.value) is (on_stream if stream else on_complete)
    assert info.value.provider == adapter
