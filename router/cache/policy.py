"""The router's use of the semantic cache: when to consult it, under which namespace and
threshold, how a hit becomes an answer, and when an answer is written back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import anyio

from router.cache.answers import cacheable, to_entry
from router.cache.namespaces import namespace
from router.cache.semantic import Entry, SemanticCache
from router.classify import user_turns
from router.config import Config
from router.encoders import Vectors
from router.types import (
    Answer,
    BudgetTier,
    CacheInfo,
    Candidate,
    ChatRequest,
    Completion,
    ModelTier,
)

# Verification compares texts; a pasted book adds nothing but time.
_VERIFY_CHARS = 4000
# Searching (or writing) a cache this small takes microseconds, less than the hop to a worker
# thread (a miss on an empty cache, about 1 us; a flat search of 1,024 entries, about 40 us):
# then it runs inline. Larger caches search in a worker thread, off the event loop.
INLINE_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """What the cache said (for the decision) and, on a hit, the entry that answers."""

    info: CacheInfo
    entry: Entry | None = None


class CacheMemory:
    def __init__(
        self,
        config: Config,
        cache: SemanticCache | None,
        *,
        inline_entries: int = INLINE_ENTRIES,
    ) -> None:
        self.config = config
        self.cache = cache if config.cache.enabled else None
        self.inline_entries = inline_entries

    def _inline(self) -> bool:
        return self.cache is not None and len(self.cache) <= self.inline_entries

    def consulted(self, task: str | None) -> bool:
        return self.cache is not None and self._task_cached(task)

    def _task_cached(self, task: str | None) -> bool:
        return task is None or task not in self.config.tasks or self.config.tasks[task].cache

    def skipped(self, task: str | None, why: str | None = None) -> CacheInfo:
        if why is None:
            why = "cache disabled" if self.cache is None else f"task {task} is never cached"
        return CacheInfo(hit=False, similarity=0.0, threshold=0.0, skipped=why)

    def _text(self, request: ChatRequest) -> str:
        return user_turns(request.messages, self.config.context).last[:_VERIFY_CHARS]

    def _namespace(self, request: ChatRequest, tier: ModelTier) -> str:
        """``namespace``; for a text longer than verification reads, one of its own.

        The vector sees a long text's head and tail only, and verification its first
        ``_VERIFY_CHARS``: two documents that differ past that would match. Such a request
        shares answers with exact repeats of its text only.
        """
        ns = namespace(request, tier)
        last = user_turns(request.messages, self.config.context).last
        if len(last) <= _VERIFY_CHARS:
            return ns
        tenant, shape = ns.rsplit(":", 1)
        text = hashlib.sha256(last.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{tenant}:{hashlib.sha256((shape + text).encode()).hexdigest()[:32]}"

    async def look_up(
        self,
        request: ChatRequest,
        tier: BudgetTier,
        vector: Vectors,
        task: str | None,
        answering: Sequence[Candidate],
    ) -> CacheLookup:
        """What the cache found for ``request`` (a hit and its entry, or why not).

        Answers are kept per model tier: ``answering`` are the models that would answer now,
        and the first one's tier names the namespace.
        """
        assert self.cache is not None
        threshold = self.config.cache.threshold(tier, task)
        ns = self._namespace(request, answering[0].tier) if answering else None
        if ns is None:
            return CacheLookup(CacheInfo(False, 0.0, threshold, skipped="no capable model"))
        lookup = partial(self.cache.lookup, ns, vector, self._text(request), threshold, tier)
        found = lookup() if self._inline() else await anyio.to_thread.run_sync(lookup)
        entry, refused = found.entry, found.refused
        allowed = request.allowed_models
        if entry is not None and allowed is not None and entry.model not in allowed:
            refused = (*refused, f"answered by {entry.model}: not allowed for this API key")
            entry = None
        info = CacheInfo(
            hit=entry is not None,
            similarity=round(found.similarity, 4),
            threshold=threshold,
            entry_id=entry.id if entry else None,
            refused=refused,
        )
        return CacheLookup(info, entry)

    async def remember(
        self,
        request: ChatRequest,
        answer: Answer[Completion],
        completion: Completion,
        vector: Vectors | None,
    ) -> None:
        """Write-through after a successful, finished answer (never a partial stream)."""
        decision = answer.decision
        if self.cache is None or vector is None or not cacheable(completion):
            return
        if decision.cache is None or decision.cache.skipped:
            return
        ns = self._namespace(request, answer.model_tier)
        entry = to_entry(
            ns,
            self._text(request),
            vector,
            completion,
            model=answer.model,
            provider=answer.provider,
            model_tier=answer.model_tier,
        )
        if self._inline():
            self.cache.put(entry)
        else:
            await anyio.to_thread.run_sync(self.cache.put, entry)
