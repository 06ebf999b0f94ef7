"""Anthropic stream events as OpenAI-shaped chunks: one small state machine, no I/O.

Malformed events surface as KeyError / TypeError / ValueError / AttributeError for the adapter
to map to BadResponse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from router.providers.anthropic_wire import finish_reason, usage
from router.types import JSON, Chunk, Usage


class StreamState:
    """Turns Anthropic stream events into OpenAI-shaped chunks; ``done`` after message_stop.

    ``stopped``: a ``message_delta`` carried the stop reason, so the answer is complete even if
    the body then ends without ``message_stop`` (``end()`` gives the closing usage chunk).
    """

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.done = False
        self.stopped = False
        self._usage = Usage()
        self._tools: dict[int, int] = {}  # Anthropic block index → OpenAI tool_calls index

    def feed(self, event: Mapping[str, Any]) -> list[Chunk]:
        """Raises: KeyError / TypeError / ValueError / AttributeError on a malformed event."""
        kind = event["type"]
        if kind == "message_start":
            message = event["message"]
            self.id, self.model = str(message.get("id", "")), str(message.get("model", ""))
            self._note_usage(message.get("usage"))
            return [self._chunk({"role": "assistant"})]
        if kind == "content_block_start":
            return self._block_start(int(event["index"]), event["content_block"])
        if kind == "content_block_delta":
            return self._block_delta(int(event["index"]), event["delta"])
        if kind == "message_delta":
            self._note_usage(event.get("usage"))
            reason = finish_reason((event.get("delta") or {}).get("stop_reason"))
            self.stopped = self.stopped or reason is not None
            return [self._chunk({}, finish_reason=reason)] if reason else []
        if kind == "message_stop":
            return self.end()
        return []  # ping, content_block_stop, and event types added after this was written

    def end(self) -> list[Chunk]:
        """The closing chunk (the usage counted so far); afterwards ``done``."""
        self.done = True
        return [self._chunk({}, usage=self._usage)]

    def _block_start(self, index: int, block: Mapping[str, Any]) -> list[Chunk]:
        if block.get("type") == "tool_use":
            position = self._tools[index] = len(self._tools)
            call = {
                "index": position,
                "id": str(block["id"]),
                "type": "function",
                "function": {"name": str(block["name"]), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": str(block["text"])})]
        return []

    def _block_delta(self, index: int, delta: Mapping[str, Any]) -> list[Chunk]:
        kind = delta.get("type")
        if kind == "text_delta" and delta["text"]:
            return [self._chunk({"content": str(delta["text"])})]
        if kind == "input_json_delta" and delta.get("partial_json"):
            call = {"index": self._tools[index], "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [call]})]
        return []  # thinking / signature deltas have no OpenAI counterpart

    def _note_usage(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            return
        counted = usage(raw)
        # Counts are cumulative: the latest of each wins.
        if raw.get("input_tokens") is not None:
            completion = self._usage.completion_tokens
            self._usage = replace(counted, completion_tokens=completion)
        if raw.get("output_tokens") is not None:
            self._usage = replace(self._usage, completion_tokens=counted.completion_tokens)

    def _chunk(
        self, delta: JSON, *, finish_reason: str | None = None, usage: Usage | None = None
    ) -> Chunk:
        return Chunk(
            delta=delta,
            finish_reason=finish_reason,
            usage=usage,
            id=self.id,
            upstream_model=self.model,
        )
