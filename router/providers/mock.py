"""A deterministic offline provider: mock mode (no keys), demos and tests.

Answers are derived from the request (no randomness), token counts are word counts, latency is
configurable, and a failure script makes it fail on purpose ("500", "429:2", "timeout", …).
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable

import anyio

from router import errors as e
from router.providers.base import Health, UpstreamCall, error_for_status
from router.types import Chunk, Completion, Usage

_STATUS_FAULTS = {"400", "401", "403", "404", "408", "413", "422", "500", "502", "503", "529"}


class MockProvider:
    """Serves any model offline. ``script`` is consumed one entry per call ("ok" when empty)."""

    def __init__(
        self, name: str = "mock", *, latency_ms: float = 0.0, script: Iterable[str] = ()
    ) -> None:
        self._name = name
        self.latency_s = latency_ms / 1000
        self._script: deque[str] = deque(script)
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    def script(self, *faults: str) -> None:
        self._script.extend(faults)

    def _next_fault(self, call: UpstreamCall) -> None:
        self.calls += 1
        fault = self._script.popleft() if self._script else "ok"
        if fault == "ok":
            return
        provider, model = self.name, call.model
        if fault == "timeout":
            raise e.Timeout(f"{self.name}: scripted timeout", provider=provider, model=model)
        if fault.startswith("429"):
            wait = float(fault.split(":", 1)[1]) if ":" in fault else None
            raise e.RateLimited(
                f"{self.name}: scripted 429",
                retry_after=wait,
                status=429,
                provider=provider,
                model=model,
            )
        if fault == "content_policy":
            raise error_for_status(400, "content_policy_violation", provider=provider, model=model)
        if fault == "context_length":
            raise error_for_status(400, "context_length_exceeded", provider=provider, model=model)
        if fault in _STATUS_FAULTS:
            raise error_for_status(int(fault), f"scripted {fault}", provider=provider, model=model)
        raise ValueError(f"unknown mock fault {fault!r}")

    @staticmethod
    def reply(call: UpstreamCall) -> str:
        last = next((m.text() for m in reversed(call.request.messages) if m.role == "user"), "")
        digest = hashlib.sha256(last.encode()).hexdigest()[:8]
        words = " ".join(last.split()[:12])
        return f"[mock {call.model}] This is a mock answer ({digest}) to: {words}"

    @staticmethod
    def _usage(call: UpstreamCall, text: str) -> Usage:
        prompt = sum(len(m.text().split()) for m in call.request.messages)
        return Usage(prompt_tokens=prompt, completion_tokens=len(text.split()))

    async def complete(self, call: UpstreamCall) -> Completion:
        if self.latency_s:
            await anyio.sleep(self.latency_s)
        self._next_fault(call)
        text = self.reply(call)
        return Completion(
            id=f"mock-{self.calls}",
            upstream_model=call.upstream_model,
            message={"role": "assistant", "content": text},
            finish_reason="stop",
            usage=self._usage(call, text),
            created=int(time.time()),
        )

    async def stream(self, call: UpstreamCall) -> AsyncIterator[Chunk]:
        self._next_fault(call)
        text = self.reply(call)
        words = text.split(" ")
        step = self.latency_s / max(len(words), 1)
        yield Chunk(delta={"role": "assistant", "content": ""}, id=f"mock-{self.calls}")
        for i, word in enumerate(words):
            if step:
                await anyio.sleep(step)
            yield Chunk(delta={"content": word if i == 0 else " " + word})
        yield Chunk(delta={}, finish_reason="stop", usage=self._usage(call, text))

    async def health(self) -> Health:
        return Health(ok=True, detail="mock")

    async def aclose(self) -> None:
        return None
