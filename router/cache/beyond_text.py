"""What a request carries besides text, for the cache namespace: images, documents and other
non-text parts, tool calls and tool results, and every turn after the last user message.

The cache matches the last user message's *text* by its vector; two requests that differ only
here ("describe this picture" with another picture, the same question with another tool
result) must never share an answer, so all of it is hashed into the namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from router.types import Message

# Per-part keys that do not change the answer (prompt-cache marks).
_IGNORED_KEYS = frozenset({"cache_control"})


def _parts(message: Message) -> list[dict[str, Any]]:
    if message.content is None or isinstance(message.content, str):
        return []
    return [
        {k: v for k, v in part.items() if k not in _IGNORED_KEYS}
        for part in message.content
        if part.get("type") != "text"
    ]


def _turn(index: int, message: Message) -> dict[str, Any]:
    turn: dict[str, Any] = {"at": index}
    if parts := _parts(message):
        turn["parts"] = parts
    if message.tool_calls:
        turn["tool_calls"] = [dict(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        turn["tool_call_id"] = message.tool_call_id
    return turn


def beyond_text(messages: Sequence[Message], last_user: int | None) -> list[Any]:
    """Everything in ``messages`` the text-only namespace and the vector do not see; empty for
    a plain text conversation ending with a user message (whose namespace stays as it was)."""
    shape: list[Any] = [t for i, m in enumerate(messages) if len(t := _turn(i, m)) > 1]
    start = 0 if last_user is None else last_user + 1
    after = [[m.role, m.text()] for m in messages[start:]]
    if after:
        shape.append({"after_last_user": after})
    return shape
