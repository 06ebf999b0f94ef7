"""Cheap token estimates for selection and budgeting (no tokenizer on the hot path)."""

from __future__ import annotations

from collections.abc import Sequence

from router.types import Message

# About four characters per token for English text with GPT/Claude tokenizers.
CHARS_PER_TOKEN = 4
# Per-message framing overhead of chat formats (role markers, separators).
MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m.text()) + MESSAGE_OVERHEAD for m in messages)
