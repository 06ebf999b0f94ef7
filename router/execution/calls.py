"""The two ways the fallback chain calls a provider: a completion, or a stream's first chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from router import errors as e
from router.providers import Provider, UpstreamCall
from router.types import Chunk, Completion


@dataclass(frozen=True, slots=True)
class StreamStart:
    """A stream whose first chunk has arrived: from here on, no fallback is possible."""

    first: Chunk
    rest: AsyncIterator[Chunk]


async def complete_call(provider: Provider, call: UpstreamCall) -> Completion:
    return await provider.complete(call)


async def open_stream(provider: Provider, call: UpstreamCall) -> StreamStart:
    """Start a stream and wait for its first chunk (bounded by the first-token timeout).

    Raises:
        Timeout: no first chunk in time. BadResponse: the stream ended before any chunk.
    """
    rest = aiter(provider.stream(call))
    limit = min(call.first_token_timeout_s or call.timeout_s, call.timeout_s)
    try:
        with anyio.fail_after(limit):
            first = await anext(rest)
    except TimeoutError:
        await _close(rest)
        raise e.Timeout(
            f"{provider.name}: no first token within {limit:.1f}s",
            provider=provider.name,
            model=call.model,
        ) from None
    except StopAsyncIteration:
        raise e.BadResponse(
            f"{provider.name}: empty stream", provider=provider.name, model=call.model
        ) from None
    return StreamStart(first=first, rest=rest)


async def _close(stream: AsyncIterator[Chunk]) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        with anyio.CancelScope(shield=True):
            await closer()
