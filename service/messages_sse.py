"""Anthropic Messages streaming: semroute's OpenAI-shaped chunks as Anthropic SSE events.

``message_start``, then per content block ``content_block_start`` / ``_delta`` / ``_stop``
(text, tool_use with ``input_json_delta``), then ``message_delta`` (stop reason, usage) and
``message_stop``. As on /v1/chat/completions, a failure after the first byte ends the stream
with an ``error`` event and no ``message_stop``, so a cut stream never looks finished.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from router.errors import ProviderError, RouterError
from router.execution import StreamSession
from router.tokens import estimate_prompt_tokens
from router.types import JSON, Chunk, Usage
from service.errors import scrub, status_for
from service.messages_errors import anthropic_type
from service.messages_wire import stop_reason, usage_json
from service.observe import Observation
from service.relay import relay


def event(kind: str, data: JSON) -> bytes:
    payload = json.dumps({"type": kind, **data}, separators=(",", ":"))
    return f"event: {kind}\ndata: {payload}\n\n".encode()


def error_event(exc: RouterError, prefix: str = "") -> bytes:
    status = status_for(exc)
    return event(
        "error", {"error": {"type": anthropic_type(status), "message": prefix + scrub(exc.message)}}
    )


class MessageEvents:
    """The event sequence of one streamed message."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.index = -1  # the open content block, if ``open``
        self.open: str | None = None
        self.tools: dict[int, int] = {}  # OpenAI tool_calls index → content block index
        self.finish: str | None = None

    def start(self, input_tokens: int) -> bytes:
        message: JSON = {
            "id": f"msg_{uuid.uuid4().hex}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 0},
        }
        return event("message_start", {"message": message})

    def feed(self, chunk: Chunk) -> list[bytes]:
        out: list[bytes] = []
        text = chunk.delta.get("content")
        if isinstance(text, str) and text:
            if self.open != "text":
                out += self._begin("text", {"type": "text", "text": ""})
            out.append(self._delta({"type": "text_delta", "text": text}, self.index))
        for call in chunk.delta.get("tool_calls") or ():
            out += self._tool(call)
        self.finish = chunk.finish_reason or self.finish
        return out

    def _tool(self, call: Mapping[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        position = int(call.get("index") or 0)
        fn = call.get("function") or {}
        if position not in self.tools:
            block = {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                "name": str(fn.get("name") or ""),
                "input": {},
            }
            out += self._begin("tool_use", block)
            self.tools[position] = self.index
        if fn.get("arguments"):
            delta = {"type": "input_json_delta", "partial_json": str(fn["arguments"])}
            out.append(self._delta(delta, self.tools[position]))
        return out

    def _begin(self, kind: str, block: JSON) -> list[bytes]:
        out = self._close()
        self.index += 1
        self.open = kind
        out.append(event("content_block_start", {"index": self.index, "content_block": block}))
        return out

    def _close(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [event("content_block_stop", {"index": self.index})]

    @staticmethod
    def _delta(delta: JSON, index: int) -> bytes:
        return event("content_block_delta", {"index": index, "delta": delta})

    def end(self, usage: Usage) -> list[bytes]:
        delta = {"stop_reason": stop_reason(self.finish), "stop_sequence": None}
        return [
            *self._close(),
            event("message_delta", {"delta": delta, "usage": usage_json(usage)}),
            event("message_stop", {}),
        ]


def message_events(session: StreamSession, observation: Observation) -> AsyncGenerator[bytes]:
    """The SSE body of a streamed /v1/messages answer; settles the session however it ends."""
    events = MessageEvents(session.answer.model)

    def failed(exc: ProviderError) -> bytes:
        return error_event(exc, "upstream stream failed: ")

    return relay(
        session,
        observation,
        head=[events.start(estimate_prompt_tokens(session.request.messages))],
        pieces=events.feed,
        failed=failed,
        end=events.end,
    )
