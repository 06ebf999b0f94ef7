"""A stream being answered: replay of a cached answer, or an upstream stream past its first
content. Finishing settles the budget (the answer then carries its final usage and
cost), gives the breaker its verdict (a stream cut after its first content counts against the
upstream) and, for a completed stream only, writes the cache.

The session holds only what finishing needs — callbacks from the router — not the router.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio

from router import errors as e
from router.execution.calls import StreamStart
from router.tokens import estimate_prompt_tokens, estimate_tokens
from router.types import Answer, ChatRequest, Chunk, Completion, Usage

_REPLAY_PIECE = 48  # characters per chunk when a cached answer is streamed back
# The verdict for a stream nobody read to its end (the client left): not the upstream's fault.
_UNFINISHED = e.RouterError("the stream was not read to its end")
Verdict = Callable[[BaseException | None], Awaitable[None]]

Settle = Callable[[Usage], Awaitable[float]]  # commit what this usage cost; returns USD
Remember = Callable[[Answer[Completion], Completion], Awaitable[None]]  # write the cache


def completion_stub() -> Completion:
    """What an upstream stream's answer holds until it is finished (the text is in chunks)."""
    return Completion(id="", upstream_model="", message={}, finish_reason=None, usage=Usage())


class StreamSession:
    def __init__(
        self,
        request: ChatRequest,
        answer: Answer[Completion],
        start: StreamStart | None,
        *,
        settle: Settle | None = None,
        remember: Remember | None = None,
        verdict: Verdict | None = None,
    ) -> None:
        """``start`` None: replay the cached ``answer``. Otherwise ``settle``, ``remember`` and
        ``verdict`` (the breaker's, from how the stream ended) finish the upstream stream."""
        self.request, self.answer, self.start = request, answer, start
        self._settle, self._remember, self._verdict = settle, remember, verdict
        self._fault: BaseException | None = None
        self._text: list[str] = []
        self._usage: Usage | None = None
        self._finish: str | None = None
        self._choice_extra: dict[str, Any] = {}
        self._closed = False

    async def chunks(self) -> AsyncIterator[Chunk]:
        """The chunks, in order. Raises: ProviderError after the first content (no fallback)."""
        if self.start is None:
            async for cached in self._replay():
                yield cached
            return
        for chunk in self.start.head:
            self._observe(chunk)
            yield chunk
        try:
            async for chunk in self.start.rest:
                self._observe(chunk)
                yield chunk
        except e.ProviderError as exc:
            self._fault = exc
            raise

    async def _replay(self) -> AsyncIterator[Chunk]:
        content = str(self.answer.result.message.get("content") or "")
        yield Chunk(delta={"role": "assistant", "content": ""})
        for i in range(0, len(content), _REPLAY_PIECE):
            yield Chunk(delta={"content": content[i : i + _REPLAY_PIECE]})
        yield Chunk(
            delta={},
            finish_reason=self.answer.result.finish_reason or "stop",
            usage=self.answer.result.usage,
        )

    def _observe(self, chunk: Chunk) -> None:
        content = chunk.delta.get("content")
        if isinstance(content, str):
            self._text.append(content)
        if chunk.delta.get("tool_calls"):
            self._finish = "tool_calls"
        self._usage = chunk.usage or self._usage
        self._choice_extra.update(chunk.choice_extra)
        self._finish = chunk.finish_reason or self._finish

    @property
    def usage(self) -> Usage:
        """Reported usage, or an estimate from what was streamed when the upstream sent none."""
        if self._usage is not None:
            return self._usage
        prompt = estimate_prompt_tokens(self.request.messages)
        return Usage(prompt, estimate_tokens("".join(self._text)))

    async def close(self, *, completed: bool) -> None:
        """Settle the budget (actual usage, or what a cut stream consumed) — ``answer`` then
        carries that usage and cost — and, if the stream completed, write the answer to the
        cache. Idempotent; safe under cancellation."""
        if self._closed or self.answer.cached:
            self._closed = True
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self.start is not None:
                closer = getattr(self.start.rest, "aclose", None)
                if closer is not None:
                    await closer()
            if self._verdict is not None:
                await self._verdict(None if completed else self._fault or _UNFINISHED)
            usage = self.usage
            cost = await self._settle(usage) if self._settle is not None else 0.0
            self.answer = replace(self.answer, usage=usage, cost_usd=cost)
            if completed and self._finish is not None and self._remember is not None:
                done = Completion(
                    id="",
                    upstream_model=self.answer.model,
                    message={"role": "assistant", "content": "".join(self._text)},
                    finish_reason=self._finish,
                    usage=usage,
                    choice_extra=self._choice_extra,
                )
                await self._remember(self.answer, done)
