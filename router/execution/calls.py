"""The two ways the fallback chain calls a provider: a completion, or a stream up to its first
content."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from router import errors as e
from router.providers import Provider, UpstreamCall
from router.types import Chunk, Completion


@dataclass(frozen=True, slots=True)
class StreamStart:
    """A stream whose first content has arrived: from here on, no fallback is possible.

    ``head`` is every chunk up to and including the first one with content (a role-only chunk
    or Anthropic's ``message_start`` shows nothing to a client, so it does not commit).
    """

    head: tuple[Chunk, ...]
    rest: AsyncIterator[Chunk]


def has_content(chunk: Chunk) -> bool:
    """Does this chunk show the client something: text, a tool call, or the end of the answer?"""
    content = chunk.delta.get("content")
    return bool(content) or bool(chunk.delta.get("tool_calls")) or chunk.finish_reason is not None


async def complete_call(provider: Provider, call: UpstreamCall) -> Completion:
    return await provider.complete(call)


async def open_stream(provider: Provider, call: UpstreamCall) -> StreamStart:
    """Start a stream and read it up to its first content (bounded by the first-token timeout,
    and by the attempt's own timeout).

    Raises:
        Timeout: no content in time. BadResponse: the stream ended before any content.
        ProviderError: the stream failed before any content (the chain falls over).
    """
    rest = aiter(provider.stream(call))
    limit = min(call.first_token_timeout_s or call.timeout_s, call.timeout_s)
    head: list[Chunk] = []
    try:
        with anyio.fail_after(limit):
            async for chunk in rest:
                head.append(chunk)
                if has_content(chunk):
                    return StreamStart(head=tuple(head), rest=rest)
    except TimeoutError:
        await _close(rest)
        raise e.Timeout(
            f"{provider.name}: no first token within {limit:.1f}s",
            provider=provider.name,
            model=call.model,
        ) from None
    except BaseException:
        await _close(rest)
        raise
    raise e.BadResponse(
        f"{provider.name}: the stream ended before any content",
        provider=provider.name,
        model=call.model,
    )


async def _close(stream: AsyncIterator[Chunk]) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        with anyio.CancelScope(shield=True):
            await closer()
