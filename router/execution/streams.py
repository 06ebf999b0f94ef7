"""A stream being answered: replay of a cached answer, or an upstream stream past its first
chunk. Finishing settles the budget and, for a completed stream only, writes the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from router.budget import usage_cost
from router.cache import Answer
from router.execution.calls import StreamStart
from router.tokens import estimate_prompt_tokens, estimate_tokens
from router.types import ChatRequest, Chunk, Completion, Usage

if TYPE_CHECKING:
    from router.classify import Embedding
    from router.core import Router

_REPLAY_PIECE = 48  # characters per chunk when a cached answer is streamed back


def completion_stub() -> Completion:
    return Completion(id="", upstream_model="", message={}, finish_reason=None, usage=Usage())


class StreamSession:
    def __init__(
        self,
        router: Router,
        request: ChatRequest,
        answer: Answer[Completion],
        start: StreamStart | None,
        embedding: Embedding | None,
    ) -> None:
        self.router, self.request, self.answer = router, request, answer
        self.start, self.embedding = start, embedding
        self._text: list[str] = []
        self._usage: Usage | None = None
        self._finish: str | None = None
        self._choice_extra: dict[str, Any] = {}
        self._closed = False

    async def chunks(self) -> AsyncIterator[Chunk]:
        """The chunks, in order. Raises: ProviderError after the first chunk (no fallback)."""
        if self.start is None:
            async for cached in self._replay():
                yield cached
            return
        self._observe(self.start.first)
        yield self.start.first
        async for chunk in self.start.rest:
            self._observe(chunk)
            yield chunk

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
        """Settle the budget (actual usage, or what a cut stream consumed) and, if the stream
        completed, write the answer to the cache. Idempotent; safe under cancellation."""
        if self._closed or self.answer.cached:
            self._closed = True
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self.start is not None:
                closer = getattr(self.start.rest, "aclose", None)
                if closer is not None:
                    await closer()
            spec = self.router.config.models[self.answer.model]
            usage = self.usage
            await self.router.spending.settle(
                self.answer.reservation,
                usage_cost(spec, usage),
            )
            if completed and self._finish is not None:
                done = Completion(
                    id="",
                    upstream_model=self.answer.model,
                    message={"role": "assistant", "content": "".join(self._text)},
                    finish_reason=self._finish,
                    usage=usage,
                    choice_extra=self._choice_extra,
                )
                vector = self.embedding.vector if self.embedding else None
                await self.router.memory.remember(self.request, self.answer, done, vector)
