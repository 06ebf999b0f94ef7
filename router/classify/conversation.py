"""What the router embeds for a conversation.

A request is represented by its last user message; earlier user turns are embedded as one
context text and blended into the vector, so a follow-up ("ok, now make it faster") stays on
the conversation's task while a long, self-contained new request keeps its own meaning.
System prompts and assistant turns are not embedded: they describe the deployment, not the ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from router.config import ContextConfig
from router.encoders import EmbeddingMemo, Encoder, Vectors, encode_async, memo_key, normalise
from router.types import EmbeddedText, Message


@dataclass(frozen=True, slots=True)
class Turns:
    """The last user message and the recent user turns before it (oldest first)."""

    last: str
    context: tuple[str, ...]

    @property
    def context_text(self) -> str:
        return "\n".join(self.context)

    def blended_text(self) -> str:
        """One text standing for the conversation (cache keys, logs): context then last."""
        return "\n".join((*self.context, self.last))


def user_turns(messages: Sequence[Message], config: ContextConfig) -> Turns:
    """Pick the last user message and up to ``config.turns`` earlier user turns.

    Falls back to the last message of any role when there is no user message.
    """
    users = [m.text() for m in messages if m.role == "user" and m.text().strip()]
    if not users:
        texts = [m.text() for m in messages if m.text().strip()]
        return Turns(last=texts[-1] if texts else "", context=())
    earlier = users[:-1][-config.turns :] if config.turns else []
    return Turns(last=users[-1], context=tuple(earlier))


def last_weight(turns: Turns, config: ContextConfig) -> float:
    """Weight of the last message's vector: lower for a short follow-up."""
    if not turns.context:
        return 1.0
    if len(turns.last.split()) <= config.short_message_words:
        return config.short_last_weight
    return config.last_weight


def blend(last: Vectors, context: Vectors | None, weight: float) -> Vectors:
    """Weighted sum of the two unit vectors, renormalised."""
    if context is None or weight >= 1.0:
        return last
    mixed = weight * last + (1.0 - weight) * context
    return normalise(np.asarray(mixed))


@dataclass(frozen=True, slots=True)
class Embedding:
    vector: Vectors
    text: EmbeddedText


@dataclass(frozen=True, slots=True)
class Prepared:
    """The window-fitted texts one encoder call embeds for a conversation, and their blend."""

    texts: list[str]
    weight: float
    embedded: EmbeddedText

    def blend(self, vectors: Vectors) -> Vectors:
        return blend(vectors[0], vectors[1] if len(self.texts) > 1 else None, self.weight)


def prepare(encoder: Encoder, turns: Turns, config: ContextConfig) -> Prepared:
    """Fit the last user message (and the context text) into ``encoder``'s window."""
    last, cut = encoder.fit_window(turns.last)
    texts = [last]
    if turns.context:
        context, cut_context = encoder.fit_window(turns.context_text)
        texts.append(context)
        cut = cut or cut_context
    embedded = EmbeddedText(
        text=last, truncated=cut, original_chars=len(turns.last), context_turns=len(turns.context)
    )
    return Prepared(texts, last_weight(turns, config), embedded)


def embed_turns_now(encoder: Encoder, turns: Turns, config: ContextConfig) -> Embedding:
    """``embed_turns`` on the calling thread: for encoders that cost microseconds (static)."""
    prepared = prepare(encoder, turns, config)
    return Embedding(prepared.blend(encoder.encode(prepared.texts)), prepared.embedded)


async def embed_turns(
    encoder: Encoder,
    turns: Turns,
    config: ContextConfig,
    *,
    encode: Callable[[Sequence[str]], Awaitable[Vectors]] | None = None,
    memo: EmbeddingMemo | None = None,
) -> Embedding:
    """Embed the last user message (and the context, in the same encoder call), blended.

    ``encode`` is how texts reach the encoder (a micro-batcher; default: a worker thread);
    ``memo`` answers repeated texts without calling it at all.
    """
    prepared = prepare(encoder, turns, config)
    key = memo_key(prepared.texts, prepared.weight)
    vector = memo.get(key) if memo is not None else None
    if vector is None:
        vectors = await (encode or partial(encode_async, encoder))(prepared.texts)
        vector = prepared.blend(vectors)
        if memo is not None:
            memo.put(key, vector)
    return Embedding(vector=vector, text=prepared.embedded)
